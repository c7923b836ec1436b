"""Edits and deletions through the whole system: each in one transaction with its event, applied
by the subscribe side once, even when Kafka is away while they are made. (Their order is seen
where it can be: test_relay_order.py reads it off the topic, test_post_versions.py applies every
order against the database.)"""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx
from sqlalchemy import text

from chassis.database import create_engine
from post_service.settings import Settings as PostSettings
from tests.e2e.system import Notification, notifications, post, subscribe, wait_notified
from tests.random_refs import random_id
from tests.running_stack import eventually, make


def edit(posts: httpx.Client, post_id: int, author_id: int, **change: str) -> dict[str, Any]:
    response = posts.patch(f"/posts/{post_id}", json={"author_id": author_id, **change})
    assert response.status_code == 200, response.text
    edited: dict[str, Any] = response.json()
    return edited


def delete(posts: httpx.Client, post_id: int, author_id: int) -> None:
    response = posts.delete(f"/posts/{post_id}", params={"author_id": author_id})
    assert response.status_code == 204, response.text


def wait_listed(
    subscriptions: httpx.Client, subscriber_id: int, expected: dict[int, str], timeout_s: float
) -> list[Notification]:
    """The subscriber's notifications once they list exactly these posts with these titles."""

    def as_expected() -> list[Notification] | None:
        received = notifications(subscriptions, subscriber_id)
        listed = {n["post_id"]: n["title"] for n in received}
        return received if listed == expected else None

    return eventually(as_expected, timeout_s, what=f"the posts {expected} to be listed")


def test_an_edit_and_a_deletion_reach_the_subscriber(
    posts: httpx.Client, subscriptions: httpx.Client
) -> None:
    author, subscriber = random_id(), random_id()
    subscribe(subscriptions, subscriber, author)
    kept, dropped = post(posts, author, "kept v1"), post(posts, author, "dropped v1")
    wait_notified(subscriptions, subscriber, {kept["event_id"], dropped["event_id"]})

    assert edit(posts, kept["post_id"], author, title="kept v2")["version"] == 2
    last = edit(posts, kept["post_id"], author, content="only the content changes")
    assert (last["version"], last["title"]) == (3, "kept v2")
    delete(posts, dropped["post_id"], author)

    (shown,) = wait_listed(subscriptions, subscriber, {kept["post_id"]: "kept v2"}, 30)
    assert shown["event_id"] == kept["event_id"]  # the notification of the creation, renamed
    assert posts.get(f"/posts/{dropped['post_id']}").status_code == 404


def test_changes_made_while_kafka_is_down_arrive_once_when_it_is_back(
    posts: httpx.Client, subscriptions: httpx.Client
) -> None:
    author, subscriber = random_id(), random_id()
    subscribe(subscriptions, subscriber, author)
    created = [post(posts, author, f"before the outage {i}") for i in range(3)]
    wait_notified(subscriptions, subscriber, {c["event_id"] for c in created})

    make("stop-kafka")
    try:
        for round_ in range(1, 4):  # bursts of edits of every post, the last one wins
            for c in created:
                edit(posts, c["post_id"], author, title=f"{c['post_id']} edit {round_}")
        delete(posts, created[0]["post_id"], author)
    finally:
        make("start-kafka")

    expected = {c["post_id"]: f"{c['post_id']} edit 3" for c in created[1:]}
    received = wait_listed(subscriptions, subscriber, expected, timeout_s=120)
    assert Counter(n["event_id"] for n in received) == {c["event_id"]: 1 for c in created[1:]}


def test_only_the_author_may_change_a_post(posts: httpx.Client) -> None:
    author = random_id()
    created = post(posts, author, "mine")
    other = author + 1

    refused = posts.patch(f"/posts/{created['post_id']}", json={"author_id": other, "title": "x"})
    assert refused.status_code == 403
    refused = posts.delete(f"/posts/{created['post_id']}", params={"author_id": other})
    assert refused.status_code == 403
    unchanged = posts.get(f"/posts/{created['post_id']}").json()
    assert (unchanged["title"], unchanged["version"]) == ("mine", 1)


def test_a_change_to_a_row_another_transaction_holds_is_a_503_that_says_so(
    posts: httpx.Client,
) -> None:
    """As after a crash, while the database still undoes what it interrupted: the edit waits the
    session's lock wait (1 s), then is told the truth, and nothing of it is stored."""
    author = random_id()
    created = post(posts, author, "held")
    settings = PostSettings()
    engine = create_engine(
        settings.db_url(settings.service_db_user, settings.service_db_password), 1
    )
    try:
        with engine.connect() as holder, holder.begin():
            holder.execute(
                text("SELECT post_id FROM posts WHERE post_id = :id FOR UPDATE"),
                {"id": created["post_id"]},
            )
            refused = posts.patch(
                f"/posts/{created['post_id']}", json={"author_id": author, "title": "not stored"}
            )
        assert refused.status_code == 503, refused.text
        assert refused.headers["Retry-After"] == "1"
        assert "holds a row this change needs" in refused.json()["detail"]
        assert posts.get(f"/posts/{created['post_id']}").json()["title"] == "held"
        assert edit(posts, created["post_id"], author, title="let go")["version"] == 2
    finally:
        engine.dispose()
