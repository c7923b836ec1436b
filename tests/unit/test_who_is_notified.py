"""Who is notified: a subscriber whose subscription existed when the post was created, however
late the event is applied (a lagging consumer, a replay, a reconcile)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

from contract.events import PostCreated
from subscribe_service.domain.subscriptions import SubscriptionPeriod
from subscribe_service.service.notifications import notify_subscribers
from subscribe_service.service.subscriptions import subscribe, unsubscribe
from tests.unit.fakes import FakeSubscribeUnitOfWork, SubscribeStore

AUTHOR = 1
T0 = datetime(2026, 1, 1, 12, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def post_at(moment: datetime) -> PostCreated:
    return PostCreated(uuid4(), 1, AUTHOR, "title", moment)


def notified(store: SubscribeStore, event: PostCreated) -> list[int]:
    created, _ = notify_subscribers(lambda: FakeSubscribeUnitOfWork(store), [event])
    return sorted(n.subscriber_id for n in created)


def test_someone_who_subscribes_after_a_post_is_not_told_of_it_when_the_event_comes_late() -> None:
    store = SubscribeStore()
    uow = lambda: FakeSubscribeUnitOfWork(store)  # noqa: E731
    subscribe(uow, 10, AUTHOR, at=at(0))
    made_while_kafka_was_down = post_at(at(5))
    subscribe(uow, 11, AUTHOR, at=at(10))  # before the event is applied, after the post

    assert notified(store, made_while_kafka_was_down) == [10]


def test_someone_who_unsubscribes_after_a_post_is_still_told_of_it() -> None:
    store = SubscribeStore()
    uow = lambda: FakeSubscribeUnitOfWork(store)  # noqa: E731
    subscribe(uow, 10, AUTHOR, at=at(0))
    earlier = post_at(at(5))
    assert unsubscribe(uow, 10, AUTHOR, at=at(10))

    assert notified(store, earlier) == [10]
    assert notified(store, post_at(at(15))) == []


def test_subscribing_again_opens_a_new_period_and_the_gap_is_not_notified() -> None:
    store = SubscribeStore()
    uow = lambda: FakeSubscribeUnitOfWork(store)  # noqa: E731
    subscribe(uow, 10, AUTHOR, at=at(0))
    unsubscribe(uow, 10, AUTHOR, at=at(10))
    subscribe(uow, 10, AUTHOR, at=at(20))

    assert [notified(store, post_at(at(s))) for s in (5, 15, 25)] == [[10], [], [10]]


def test_subscribing_twice_keeps_the_first_start() -> None:
    store = SubscribeStore()
    uow = lambda: FakeSubscribeUnitOfWork(store)  # noqa: E731
    subscribe(uow, 10, AUTHOR, at=at(0))
    subscribe(uow, 10, AUTHOR, at=at(10))

    assert notified(store, post_at(at(5))) == [10]
    assert len(store.periods) == 1


def test_unsubscribing_without_a_subscription_says_so() -> None:
    store = SubscribeStore()
    assert not unsubscribe(lambda: FakeSubscribeUnitOfWork(store), 10, AUTHOR, at=at(0))


def test_a_period_covers_its_start_and_not_its_end() -> None:
    period = SubscriptionPeriod(10, AUTHOR, at(0), at(10))
    assert [period.covers(at(s)) for s in (-1, 0, 9.999999, 10)] == [False, True, True, False]
    assert SubscriptionPeriod(10, AUTHOR, at(0)).covers(at(10**9))
