"""The inbox on the real database: exactly once, even when two consumers race for one event."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from uuid import uuid4

from sqlalchemy import func, select

from contract.events import PostCreated, PostEvent
from subscribe_service.adapters.tables import notifications
from subscribe_service.bootstrap import Bootstrapped
from subscribe_service.service.notifications import notify_subscribers
from subscribe_service.service.subscriptions import subscribe, unsubscribe
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


def test_a_batch_applies_its_new_events_once_and_counts_the_rest(
    subscribe_deps: Bootstrapped,
) -> None:
    # The inbox records a batch in one statement; one event seen before, or twice in the batch,
    # must send it back to one event at a time.
    author, subscriber = random_id(), random_id()
    subscribe(subscribe_deps.unit_of_work, subscriber, author)
    seen_before, new, repeated = (
        PostCreated(uuid4(), random_id(), author, f"post {n}", datetime.now(UTC)) for n in range(3)
    )
    notify_subscribers(subscribe_deps.unit_of_work, [seen_before])

    created, duplicates = notify_subscribers(
        subscribe_deps.unit_of_work, [new, seen_before, repeated, repeated]
    )

    assert sorted(n.post_id for n in created) == sorted([new.post_id, repeated.post_id])
    assert duplicates == 2
    assert [notifications_of(subscribe_deps, e) for e in (seen_before, new, repeated)] == [1, 1, 1]


def test_each_post_of_a_batch_notifies_those_subscribed_when_it_was_created(
    subscribe_deps: Bootstrapped,
) -> None:
    # One query reads the periods of the whole batch's authors: each post still gets the
    # subscribers of its own moment.
    author, stays, leaves, joins = random_id(), random_id(), random_id(), random_id()
    t0 = datetime.now(UTC) - timedelta(hours=1)
    subscribe(subscribe_deps.unit_of_work, stays, author, at=t0)
    subscribe(subscribe_deps.unit_of_work, leaves, author, at=t0)
    unsubscribe(subscribe_deps.unit_of_work, leaves, author, at=t0 + timedelta(seconds=20))
    subscribe(subscribe_deps.unit_of_work, joins, author, at=t0 + timedelta(seconds=20))
    before = PostCreated(uuid4(), random_id(), author, "before", t0 + timedelta(seconds=10))
    after = PostCreated(uuid4(), random_id(), author, "after", t0 + timedelta(seconds=30))

    created, _ = notify_subscribers(subscribe_deps.unit_of_work, [before, after])

    told = {(n.post_id, n.subscriber_id) for n in created}
    assert told == {
        (before.post_id, stays),
        (before.post_id, leaves),
        (after.post_id, stays),
        (after.post_id, joins),
    }


def test_two_consumers_racing_with_overlapping_batches_apply_each_event_once(
    subscribe_deps: Bootstrapped,
) -> None:
    # As in a rebalance: the new owner of a partition reads again what the old one is applying.
    author, subscriber = random_id(), random_id()
    subscribe(subscribe_deps.unit_of_work, subscriber, author)
    a, b, c = (PostCreated(uuid4(), random_id(), author, "x", datetime.now(UTC)) for _ in range(3))
    start = threading.Barrier(2)
    made: list[int] = []

    def apply(batch: list[PostEvent]) -> None:
        start.wait()
        created, _ = notify_subscribers(subscribe_deps.unit_of_work, batch)
        made.extend(n.post_id for n in created)

    threads = [threading.Thread(target=apply, args=(batch,)) for batch in ([a, b], [b, c])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(made) == sorted(e.post_id for e in (a, b, c))
    assert [notifications_of(subscribe_deps, e) for e in (a, b, c)] == [1, 1, 1]
