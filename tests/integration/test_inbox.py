"""The inbox on the real database: exactly once, even when two consumers race for one event."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from uuid import uuid4

from sqlalchemy import func, select

from contract.events import PostCreated
from subscribe_service.adapters.tables import notifications
from subscribe_service.bootstrap import Bootstrapped
from subscribe_service.service.notifications import notify_subscribers
from subscribe_service.service.subscriptions import subscribe
from tests.random_refs import random_id


def notifications_of(deps: Bootstrapped, event: PostCreated) -> int:
    with deps.engine.connect() as connection:
        query = select(func.count()).where(notifications.c.event_id == str(event.event_id))
        return connection.scalar(query) or 0


def test_an_event_applied_twice_notifies_each_subscriber_once(subscribe_deps: Bootstrapped) -> None:
    author = random_id()
    for subscriber in (random_id(), random_id()):
        subscribe(subscribe_deps.unit_of_work, subscriber, author)
    event = PostCreated(uuid4(), random_id(), author, "한글 🦖", datetime.now(UTC))

    first, _ = notify_subscribers(subscribe_deps.unit_of_work, [event])
    again, duplicates = notify_subscribers(subscribe_deps.unit_of_work, [event])

    assert len(first) == 2
    assert (again, duplicates) == ([], 1)
    assert notifications_of(subscribe_deps, event) == 2


def test_two_consumers_racing_for_one_event_apply_it_once(subscribe_deps: Bootstrapped) -> None:
    author = random_id()
    subscribers = [random_id() for _ in range(5)]
    for subscriber in subscribers:
        subscribe(subscribe_deps.unit_of_work, subscriber, author)
    event = PostCreated(uuid4(), random_id(), author, "race", datetime.now(UTC))
    start = threading.Barrier(4)
    results: list[tuple[int, int]] = []

    def apply() -> None:
        start.wait()
        created, duplicates = notify_subscribers(subscribe_deps.unit_of_work, [event])
        results.append((len(created), duplicates))

    threads = [threading.Thread(target=apply) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(results) == [(0, 1), (0, 1), (0, 1), (5, 0)]
    assert notifications_of(subscribe_deps, event) == 5
