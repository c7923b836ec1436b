"""What e2e tests do to the system over HTTP: subscribe, post, and read notifications."""

from __future__ import annotations

from typing import Any

import httpx

from tests.running_stack import eventually

Notification = dict[str, Any]


def subscribe(subscriptions: httpx.Client, subscriber_id: int, author_id: int) -> None:
    response = subscriptions.post(
        "/subscriptions", json={"subscriber_id": subscriber_id, "author_id": author_id}
    )
    assert response.status_code == 201, response.text


def post(posts: httpx.Client, author_id: int, title: str, content: str = "") -> dict[str, Any]:
    response = posts.post(
        "/posts", json={"author_id": author_id, "title": title, "content": content}
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def notifications(subscriptions: httpx.Client, subscriber_id: int) -> list[Notification]:
    response = subscriptions.get(
        "/notifications", params={"subscriber_id": subscriber_id, "limit": 1000}
    )
    assert response.status_code == 200, response.text
    received: list[Notification] = response.json()
    return received


def wait_notified(
    subscriptions: httpx.Client, subscriber_id: int, event_ids: set[str], timeout_s: float = 30
) -> list[Notification]:
    """The subscriber's notifications, once every one of the events has reached them."""

    def all_arrived() -> list[Notification] | None:
        received = notifications(subscriptions, subscriber_id)
        return received if event_ids <= {n["event_id"] for n in received} else None

    return eventually(
        all_arrived, timeout_s, what=f"{len(event_ids)} events to reach subscriber {subscriber_id}"
    )
