"""The delivery outbox and the dispatcher, on fakes: a delivery per notification to a subscriber
with an endpoint, written with it; sent until a 2xx, retried, or dead; a slow endpoint never holds
up the others; a lost dispatcher's claim passes to another once its lease ends."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from prometheus_client import REGISTRY
from pymysql.err import DataError, OperationalError
from sqlalchemy import create_engine

from contract.events import PostCreated
from subscribe_service.adapters.notifier import LoggingNotifier
from subscribe_service.bootstrap import Bootstrapped, DispatcherDependencies
from subscribe_service.domain.deliveries import Delivery, Outcome, RetryPolicy, Status
from subscribe_service.domain.webhooks import webhook_id
from subscribe_service.entrypoints.dispatcher import Dispatcher
from subscribe_service.service import dispatch
from subscribe_service.service.notifications import notify_subscribers
from subscribe_service.service.subscriptions import subscribe
from subscribe_service.service.webhooks import register_endpoint, remove_endpoint, retry_dead
from subscribe_service.settings import Settings
from tests.unit.fakes import (
    FakeDeliveries,
    FakeSubscribeUnitOfWork,
    FakeWebhookSender,
    SubscribeStore,
)

AUTHOR = 1
URL = "http://127.0.0.1:9/hook"
# Retries due at once, so the tests need not wait.
QUICK = {"delivery_backoff_base_s": 0.001, "delivery_backoff_cap_s": 0.001}


def post() -> PostCreated:
    return PostCreated(uuid4(), 1, AUTHOR, "title", datetime.now(UTC) + timedelta(seconds=1))


def store_with(subscribers: dict[int, bool]) -> SubscribeStore:
    """Subscribers of AUTHOR, each with an endpoint or not."""
    store = SubscribeStore()
    uow = lambda: FakeSubscribeUnitOfWork(store)  # noqa: E731
    for subscriber, has_endpoint in subscribers.items():
        subscribe(uow, subscriber, AUTHOR)
        if has_endpoint:
            register_endpoint(uow, subscriber, URL, None)
    return store


def test_each_notification_to_a_subscriber_with_an_endpoint_is_a_pending_delivery() -> None:
    store = store_with({10: True, 11: False, 12: True})
    event = post()
    notify_subscribers(lambda: FakeSubscribeUnitOfWork(store), [event])

    assert {(d.new.subscriber_id, d.status) for d in store.deliveries} == {
        (10, Status.PENDING),
        (12, Status.PENDING),
    }
    assert {d.new.webhook_id for d in store.deliveries} == {
        webhook_id(event.event_id, 10),
        webhook_id(event.event_id, 12),
    }
    assert len(store.notifications) == 3  # 11 keeps today's behaviour: GET /notifications


def test_a_replayed_event_makes_no_second_delivery() -> None:
    store = store_with({10: True})
    event = post()
    uow = lambda: FakeSubscribeUnitOfWork(store)  # noqa: E731
    notify_subscribers(uow, [event])
    notify_subscribers(uow, [event, event])
    assert len(store.deliveries) == 1


def test_a_claimed_delivery_is_claimed_by_nobody_else_until_its_lease_ends() -> None:
    store = store_with({10: True})
    notify_subscribers(lambda: FakeSubscribeUnitOfWork(store), [post()])
    deliveries = FakeDeliveries(store)
    now, lease = datetime.now(UTC), timedelta(seconds=30)

    (first,) = deliveries.claim(now, lease, limit=10)
    assert deliveries.claim(now + timedelta(seconds=29), lease, limit=10) == []
    (again,) = deliveries.claim(now + timedelta(seconds=30), lease, limit=10)
    assert again.webhook_id == first.webhook_id
    assert again.body == first.body


def dispatcher(store: SubscribeStore, sender: FakeWebhookSender, **settings: object) -> Dispatcher:
    configured = Settings(service_db_password="unused", **{**QUICK, **settings})  # type: ignore[arg-type]
    deps = Bootstrapped(
        configured,
        create_engine("sqlite://"),  # never connected: the fakes stand in for the database
        lambda: FakeSubscribeUnitOfWork(store),
        LoggingNotifier(),
    )
    return Dispatcher(DispatcherDependencies(deps, sender))


async def run_until(running: Dispatcher, done: object, timeout_s: float = 5) -> None:
    task = asyncio.create_task(running.run())
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not done() and asyncio.get_running_loop().time() < deadline:  # type: ignore[operator]
        await asyncio.sleep(0.01)
    running.stop()
    await task


def statuses(store: SubscribeStore) -> list[tuple[Status, int]]:
    return [(d.status, d.attempts) for d in store.deliveries]


def test_a_delivery_is_retried_after_failures_and_delivered_once_a_2xx_comes() -> None:
    store = store_with({10: True})
    notify_subscribers(lambda: FakeSubscribeUnitOfWork(store), [post()])
    sender = FakeWebhookSender(
        Outcome.failure("HTTP 500"), Outcome.failure("HTTP 503"), Outcome.success()
    )
    running = dispatcher(store, sender)

    asyncio.run(run_until(running, lambda: statuses(store) == [(Status.DELIVERED, 3)]))

    assert statuses(store) == [(Status.DELIVERED, 3)]
    assert len({(d.webhook_id, d.body) for d in sender.sent}) == 1  # the same at every attempt
    assert sender.closed


def test_a_delivery_that_keeps_failing_is_dead_after_the_last_attempt_and_can_be_retried() -> None:
    store = store_with({10: True})
    notify_subscribers(lambda: FakeSubscribeUnitOfWork(store), [post()])
    failing = FakeWebhookSender(Outcome.failure("HTTP 500"))

    asyncio.run(
        run_until(
            dispatcher(store, failing, delivery_max_attempts=4),
            lambda: statuses(store) == [(Status.DEAD, 4)],
        )
    )
    assert statuses(store) == [(Status.DEAD, 4)]
    assert store.deliveries[0].last_error == "HTTP 500"

    assert retry_dead(lambda: FakeSubscribeUnitOfWork(store)) == 1
    healthy = FakeWebhookSender(Outcome.success())
    asyncio.run(
        run_until(dispatcher(store, healthy), lambda: statuses(store) == [(Status.DELIVERED, 1)])
    )
    assert statuses(store) == [(Status.DELIVERED, 1)]


def test_a_delivery_whose_endpoint_was_removed_dies_at_its_next_attempt() -> None:
    store = store_with({10: True})
    uow = lambda: FakeSubscribeUnitOfWork(store)  # noqa: E731
    notify_subscribers(uow, [post()])
    remove_endpoint(uow, 10)
    [verdict] = dispatch.record_attempts(
        uow,
        [
            (
                dispatch.claim_due(uow, 10, timedelta(seconds=30))[0],
                Outcome.failure("the subscriber has no endpoint any more", gone=True),
            )
        ],
        RetryPolicy(),
        random.Random(),
    )
    assert verdict.status == Status.DEAD


class SlowForOne(FakeWebhookSender):
    """Hangs every request to one subscriber's endpoint until released; answers the rest at once."""

    def __init__(self, slow_subscriber: int) -> None:
        super().__init__(Outcome.success())
        self.slow_subscriber = slow_subscriber
        self.release = asyncio.Event()
        self.in_flight = 0
        self.most_in_flight = 0

    async def send(self, delivery: Delivery) -> Outcome:
        if delivery.subscriber_id != self.slow_subscriber:
            return await super().send(delivery)
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await self.release.wait()
        finally:
            self.in_flight -= 1
        return await super().send(delivery)


@pytest.mark.parametrize("per_endpoint", [1, 4])
def test_a_slow_endpoint_holds_only_its_own_slots_and_the_others_are_delivered(
    per_endpoint: int,
) -> None:
    store = store_with({10: True, 11: True})
    uow = lambda: FakeSubscribeUnitOfWork(store)  # noqa: E731
    notify_subscribers(uow, [post() for _ in range(20)])
    sender = SlowForOne(slow_subscriber=10)
    running = dispatcher(
        store,
        sender,
        dispatcher_max_in_flight=8,
        dispatcher_max_in_flight_per_endpoint=per_endpoint,
    )

    def the_fast_one_is_done() -> bool:
        return all(
            d.status == Status.DELIVERED for d in store.deliveries if d.new.subscriber_id == 11
        )

    def all_done() -> bool:
        return all(d.status == Status.DELIVERED for d in store.deliveries)

    async def until(done: Callable[[], bool], deadline_s: float = 30.0) -> None:
        """Polls with a deadline generous enough for a loaded machine."""
        give_up = time.monotonic() + deadline_s
        while not done() and time.monotonic() < give_up:
            await asyncio.sleep(0.01)

    async def scenario() -> None:
        task = asyncio.create_task(running.run())
        await until(the_fast_one_is_done)
        assert the_fast_one_is_done()
        assert sender.most_in_flight == per_endpoint
        sender.release.set()
        await until(all_done)
        running.stop()
        await task

    asyncio.run(scenario())
    assert all(d.status == Status.DELIVERED for d in store.deliveries)
    assert sender.most_in_flight == per_endpoint


def test_an_outcome_the_database_refuses_holds_its_own_slot_and_no_other(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = store_with({10: True, 11: True, 12: True})
    notify_subscribers(lambda: FakeSubscribeUnitOfWork(store), [post()])
    settle = FakeDeliveries.settle

    def refusing_the_first(self: FakeDeliveries, delivery_id: int, *args: object) -> None:
        if delivery_id == 1:
            raise DataError(1366, "Incorrect string value")  # the database blames the data
        settle(self, delivery_id, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(FakeDeliveries, "settle", refusing_the_first)
    running = dispatcher(store, FakeWebhookSender(Outcome.success()))
    delivered = [(Status.PENDING, 0), (Status.DELIVERED, 1), (Status.DELIVERED, 1)]

    asyncio.run(run_until(running, lambda: statuses(store) == delivered))

    # The refused one is left to its lease, to be sent again; the others were recorded, and the
    # dispatcher stopped when told to.
    assert statuses(store) == delivered


def test_a_backlog_count_that_fails_leaves_the_claimed_deliveries_under_way(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The count for the metrics runs after a claim: failing, it must not drop what the claim
    leased, or those deliveries would wait out their lease (60 s) before anyone sent them."""
    store = store_with({10: True, 11: True})
    notify_subscribers(lambda: FakeSubscribeUnitOfWork(store), [post()])
    counts = 0

    def unavailable(self: FakeDeliveries, now: datetime) -> None:
        nonlocal counts
        counts += 1
        raise OperationalError(2013, "Lost connection to server during query")

    monkeypatch.setattr(FakeDeliveries, "backlog", unavailable)
    running = dispatcher(store, FakeWebhookSender(Outcome.success()))
    delivered = [(Status.DELIVERED, 1), (Status.DELIVERED, 1)]
    measured_at = backlog_measured_at()

    asyncio.run(run_until(running, lambda: statuses(store) == delivered))

    assert counts > 0, "the backlog was never counted: the test proved nothing"
    assert statuses(store) == delivered
    assert running.is_ready()  # the claims work: the database is not the one to blame
    assert backlog_measured_at() == measured_at  # it says the gauges are stale


def backlog_measured_at() -> float:
    return REGISTRY.get_sample_value("subscribe_webhook_backlog_measured_at_seconds") or 0.0


def test_a_backlog_count_tells_when_it_was_taken() -> None:
    store = store_with({10: True})
    notify_subscribers(lambda: FakeSubscribeUnitOfWork(store), [post()])
    running = dispatcher(store, FakeWebhookSender(Outcome.success()))
    started = time.time()

    asyncio.run(run_until(running, lambda: backlog_measured_at() >= started))

    assert backlog_measured_at() >= started


def test_the_dead_are_revived_a_batch_per_transaction_until_none_is_left() -> None:
    store = store_with({subscriber: True for subscriber in range(10, 15)})
    notify_subscribers(lambda: FakeSubscribeUnitOfWork(store), [post()])
    for delivery in store.deliveries:
        delivery.status, delivery.attempts = Status.DEAD, 4
    transactions = 0

    def unit_of_work() -> FakeSubscribeUnitOfWork:
        nonlocal transactions
        transactions += 1
        return FakeSubscribeUnitOfWork(store)

    assert retry_dead(unit_of_work, batch=2) == 5
    assert transactions == 3  # 2, 2, then 1: fewer than a batch, so none is left
    assert statuses(store) == [(Status.PENDING, 0)] * 5
