"""Applying post events: every current subscriber once, a redelivered event nobody twice."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from contract.events import PostCreated, PostDeleted
from subscribe_service.service.notifications import latest_notifications, notify_subscribers
from subscribe_service.service.subscriptions import subscribe, unsubscribe
from tests.unit.fakes import FakeSubscribeUnitOfWork, SubscribeStore


def post_by(author_id: int) -> PostCreated:
    return PostCreated(uuid4(), 1, author_id, "title", datetime.now(UTC))


def test_every_subscriber_of_the_author_is_notified_once() -> None:
    store = SubscribeStore()
    uow = lambda: FakeSubscribeUnitOfWork(store)  # noqa: E731
    subscribe(uow, 10, author_id=1)
    subscribe(uow, 11, author_id=1)
    subscribe(uow, 12, author_id=2)
    created, duplicates = notify_subscribers(uow, [post_by(1)])
    assert sorted(n.subscriber_id for n in created) == [10, 11]
    assert duplicates == 0


def test_a_redelivered_event_notifies_nobody_twice() -> None:
    store = SubscribeStore()
    uow = lambda: FakeSubscribeUnitOfWork(store)  # noqa: E731
    subscribe(uow, 10, author_id=1)
    event = post_by(1)
    notify_subscribers(uow, [event])
    created, duplicates = notify_subscribers(uow, [event, event])
    assert created == []
    assert duplicates == 2
    assert len(store.notifications) == 1


def test_an_unsubscribed_subscriber_hears_of_no_later_post() -> None:
    store = SubscribeStore()
    uow = lambda: FakeSubscribeUnitOfWork(store)  # noqa: E731
    subscribe(uow, 10, author_id=1)
    assert unsubscribe(uow, 10, author_id=1)
    notify_subscribers(uow, [post_by(1)])
    assert latest_notifications(uow, 10, limit=50) == []


def test_subscribing_twice_is_harmless() -> None:
    store = SubscribeStore()
    uow = lambda: FakeSubscribeUnitOfWork(store)  # noqa: E731
    subscribe(uow, 10, author_id=1)
    subscribe(uow, 10, author_id=1)
    created, _ = notify_subscribers(uow, [post_by(1)])
    assert len(created) == 1


def test_a_late_creation_after_its_deletion_in_the_same_batch_notifies_nobody() -> None:
    # A reconcile's copy of the creation (a new event id) lands right after the deletion.
    store = SubscribeStore()
    uow = lambda: FakeSubscribeUnitOfWork(store)  # noqa: E731
    subscribe(uow, 10, author_id=1)
    created = post_by(1)
    deleted = PostDeleted(uuid4(), created.post_id, 1, 2, datetime.now(UTC))
    made, _ = notify_subscribers(uow, [deleted, created])
    assert made == []
    assert store.notifications == []


def test_a_post_created_then_deleted_in_one_batch_was_notified_while_it_lived() -> None:
    store = SubscribeStore()
    uow = lambda: FakeSubscribeUnitOfWork(store)  # noqa: E731
    subscribe(uow, 10, author_id=1)
    created = post_by(1)
    deleted = PostDeleted(uuid4(), created.post_id, 1, 2, datetime.now(UTC))
    made, _ = notify_subscribers(uow, [created, deleted])
    assert [n.subscriber_id for n in made] == [10]
    assert latest_notifications(uow, 10, limit=50) == []  # listed nowhere once deleted
