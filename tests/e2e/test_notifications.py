"""A post reaches every subscriber of its author, intact, and nobody else."""

from __future__ import annotations

from datetime import datetime

import httpx

from tests.e2e.system import notifications, post, subscribe, wait_notified
from tests.random_refs import random_id


def test_a_korean_emoji_post_reaches_every_subscriber_byte_for_byte(
    posts: httpx.Client, subscriptions: httpx.Client
) -> None:
    author, subscribers = random_id(), [random_id() for _ in range(3)]
    for subscriber in subscribers:
        subscribe(subscriptions, subscriber, author)
    title = f"안녕하세요, 구독자님 🦖🎉 𝄞 {random_id()}"
    content = "본문 😀 — 4-byte UTF-8: 🀄🧪"

    created = post(posts, author, title, content)

    for subscriber in subscribers:
        (received,) = wait_notified(subscriptions, subscriber, {created["event_id"]})
        assert received["title"].encode() == title.encode()
        assert received["post_id"] == created["post_id"]
        assert received["author_id"] == author
        assert received["created_at"] == created["created_at"]
    stored = posts.get(f"/posts/{created['post_id']}").json()
    assert (stored["title"], stored["content"]) == (title, content)


def test_a_subscriber_added_after_a_post_gets_no_notification_for_it(
    posts: httpx.Client, subscriptions: httpx.Client
) -> None:
    author, early, late = random_id(), random_id(), random_id()
    subscribe(subscriptions, early, author)
    before = post(posts, author, "before the late subscriber")
    wait_notified(subscriptions, early, {before["event_id"]})

    subscribe(subscriptions, late, author)
    after = post(posts, author, "after the late subscriber")
    wait_notified(subscriptions, early, {after["event_id"]})

    assert [n["event_id"] for n in notifications(subscriptions, late)] == [after["event_id"]]


def test_a_removed_subscriber_gets_none_for_later_posts(
    posts: httpx.Client, subscriptions: httpx.Client
) -> None:
    author, staying, leaving = random_id(), random_id(), random_id()
    subscribe(subscriptions, staying, author)
    subscribe(subscriptions, leaving, author)
    first = post(posts, author, "while both subscribe")
    wait_notified(subscriptions, leaving, {first["event_id"]})

    assert subscriptions.delete(f"/subscriptions/{leaving}/{author}").status_code == 204
    second = post(posts, author, "after one left")
    # The staying subscriber's notification commits in the same transaction as any other's.
    wait_notified(subscriptions, staying, {first["event_id"], second["event_id"]})

    assert [n["event_id"] for n in notifications(subscriptions, leaving)] == [first["event_id"]]


def test_notifications_come_newest_first_and_respect_the_limit(
    posts: httpx.Client, subscriptions: httpx.Client
) -> None:
    author, subscriber = random_id(), random_id()
    subscribe(subscriptions, subscriber, author)
    created = [post(posts, author, f"post {i}") for i in range(3)]
    wait_notified(subscriptions, subscriber, {c["event_id"] for c in created})

    latest = subscriptions.get(
        "/notifications", params={"subscriber_id": subscriber, "limit": 2}
    ).json()
    everything = notifications(subscriptions, subscriber)
    assert latest == everything[:2]
    assert len(everything) == 3
    # As times: the text of a whole second has no fraction ("...:07Z" sorts after "...:07.5Z").
    notified = [datetime.fromisoformat(n["notified_at"]) for n in everything]
    assert notified == sorted(notified, reverse=True)


def test_a_nul_and_every_plane_of_unicode_arrive_unmangled(
    posts: httpx.Client, subscriptions: httpx.Client
) -> None:
    author, subscriber = random_id(), random_id()
    subscribe(subscriptions, subscriber, author)
    title = "nul \x00 tab \t bell \x07 bmp \uffff astral \U0010fffd 🦖"
    created = post(posts, author, title, "content \x00 too")
    (received,) = wait_notified(subscriptions, subscriber, {created["event_id"]})
    assert received["title"] == title
    assert posts.get(f"/posts/{created['post_id']}").json()["content"] == "content \x00 too"
