"""The delivery outbox on the real database: notifications and their deliveries commit together;
racing dispatchers never claim one delivery twice; a lost claim passes on when its lease ends;
what gives up is dead, counted, and revived by the command.

The claims run in a private database of their own, made and dropped here: on the shared one, the
running dispatcher would take the rows first."""

from __future__ import annotations

import os
import secrets
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from uuid import uuid4

import pytest
from sqlalchemy import func, select

from contract.events import PostCreated
from deploy.native import databases
from deploy.native.layout import Layout
from deploy.parts import WEBHOOK_RECEIVERS_HOST
from subscribe_service.adapters.tables import notifications, subscriptions, webhook_deliveries
from subscribe_service.bootstrap import Bootstrapped, bootstrap
from subscribe_service.domain.deliveries import NewDelivery, Status, Verdict
from subscribe_service.entrypoints.dispatcher import retry_dead_deliveries
from subscribe_service.service.notifications import notify_subscribers
from subscribe_service.service.ports import UnitOfWork
from subscribe_service.service.subscriptions import subscribe, unsubscribe
from subscribe_service.service.webhooks import register_endpoint
from subscribe_service.settings import Settings
from tests.random_refs import random_id
from tests.running_stack import REPO, eventually

LEASE = timedelta(seconds=30)


def as_admin(sql: str) -> None:
    databases.query_as_admin(Layout.from_env(), databases.SUBSCRIBE_DB, sql)


@pytest.fixture(scope="module")
def private() -> Iterator[Bootstrapped]:
    """A database of this module's own, migrated to head, and a user for it alone."""
    name, password = f"it_webhooks_{secrets.token_hex(4)}", secrets.token_urlsafe(18)
    as_admin(f"CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    as_admin(f"CREATE USER '{name}'@'%' IDENTIFIED BY '{password}'")
    as_admin(f"GRANT ALL ON {name}.* TO '{name}'@'%'")
    deps = None
    try:
        migrator = {
            "SUBSCRIBE_DB_NAME": name,
            "SUBSCRIBE_MIGRATOR_DB_USER": name,
            "SUBSCRIBE_MIGRATOR_DB_PASSWORD": password,
        }
        subprocess.run(
            [REPO / ".venv/bin/alembic", "-c", REPO / "subscribe_service/alembic.ini", "upgrade",
             "head"],
            env={**os.environ, **migrator}, check=True, capture_output=True,
        )  # fmt: skip
        settings = Settings(db_name=name, service_db_user=name, service_db_password=password)
        deps = bootstrap(settings)
        yield deps
    finally:
        if deps is not None:
            deps.engine.dispose()
        as_admin(f"DROP DATABASE IF EXISTS {name}")
        as_admin(f"DROP USER IF EXISTS '{name}'@'%'")


def written(unit_of_work: Callable[[], UnitOfWork], subscriber: int, count: int) -> list[str]:
    """Pending deliveries for the subscriber, due now; their webhook ids."""
    new = [NewDelivery(f"msg_{uuid4().hex}", str(uuid4()), subscriber, b"{}") for _ in range(count)]
    with unit_of_work() as uow:
        uow.deliveries.add(new, datetime.now(UTC))
        uow.commit()
    return [d.webhook_id for d in new]


def claim(
    unit_of_work: Callable[[], UnitOfWork],
    limit: int = 100,
    lease: timedelta = LEASE,
    **only: object,
) -> list[str]:
    with unit_of_work() as uow:
        claimed = uow.deliveries.claim(datetime.now(UTC), lease, limit, **only)  # type: ignore[arg-type]
        uow.commit()
    return [d.webhook_id for d in claimed]


def test_racing_dispatchers_never_claim_one_delivery_twice(private: Bootstrapped) -> None:
    expected = set(written(private.unit_of_work, random_id(), 240))
    start = threading.Barrier(4)
    claims: list[list[str]] = [[] for _ in range(4)]

    def dispatcher(mine: list[str]) -> None:
        start.wait()
        for _ in range(len(expected)):  # bounded: a claim that leased nothing would never end
            batch = claim(private.unit_of_work, limit=7)
            if not batch:
                return
            mine.extend(batch)

    threads = [threading.Thread(target=dispatcher, args=(mine,)) for mine in claims]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    everything = [webhook for mine in claims for webhook in mine]
    assert len(everything) == len(set(everything)) == len(expected)
    assert set(everything) == expected
    assert sum(1 for mine in claims if mine) > 1  # they did race


def test_a_claim_passes_to_another_dispatcher_once_its_lease_ends(private: Bootstrapped) -> None:
    (webhook,) = written(private.unit_of_work, random_id(), 1)
    assert claim(private.unit_of_work, lease=timedelta(seconds=1)) == [webhook]
    assert claim(private.unit_of_work) == []  # leased: no other dispatcher takes it
    time.sleep(1.1)  # the first dispatcher never reported back
    assert claim(private.unit_of_work) == [webhook]


def test_a_claim_takes_a_few_per_endpoint_and_leaves_the_rest_due(private: Bootstrapped) -> None:
    busy, slow, quiet = random_id(), random_id(), random_id()
    written(private.unit_of_work, busy, 3)
    written(private.unit_of_work, slow, 5)
    quiet_ones = written(private.unit_of_work, quiet, 2)

    taken = claim(private.unit_of_work, per_subscriber=2, skip_subscribers={busy})
    assert len(taken) == 4
    assert set(quiet_ones) <= set(taken)
    assert len(claim(private.unit_of_work, skip_subscribers={busy})) == 3  # slow's others
    assert len(claim(private.unit_of_work)) == 3  # busy's, untouched until now


def settle(private: Bootstrapped, webhook: str, status: Status) -> None:
    with private.engine.connect() as connection:
        delivery_id = connection.scalar(
            select(webhook_deliveries.c.delivery_id).where(
                webhook_deliveries.c.webhook_id == webhook
            )
        )
    now = datetime.now(UTC)
    with private.unit_of_work() as uow:
        uow.deliveries.settle(delivery_id or 0, Verdict(status, 1, now, "HTTP 500"), now)
        uow.commit()


def test_a_dead_delivery_is_counted_listed_and_revived_by_the_command(
    private: Bootstrapped,
) -> None:
    subscriber = random_id()
    (webhook,) = written(private.unit_of_work, subscriber, 1)
    claim(private.unit_of_work)
    with private.unit_of_work() as uow:
        dead_before = uow.deliveries.backlog(datetime.now(UTC)).dead
    settle(private, webhook, Status.DEAD)

    with private.unit_of_work() as uow:
        assert uow.deliveries.backlog(datetime.now(UTC)).dead == dead_before + 1
        (listed,) = uow.deliveries.of_subscriber(subscriber, Status.DEAD, 10)
    assert (listed.webhook_id, listed.last_error) == (webhook, "HTTP 500")

    assert retry_dead_deliveries(private.settings, subscriber) == 1
    assert claim(private.unit_of_work) == [webhook]  # pending again, due at once


def test_a_late_failure_does_not_undo_a_delivery(private: Bootstrapped) -> None:
    subscriber = random_id()
    (webhook,) = written(private.unit_of_work, subscriber, 1)
    settle(private, webhook, Status.DELIVERED)
    settle(private, webhook, Status.PENDING)  # a dispatcher whose lease ran out, reporting late
    with private.unit_of_work() as uow:
        (record,) = uow.deliveries.of_subscriber(subscriber, None, 10)
    assert record.status == Status.DELIVERED


def test_a_batch_of_verdicts_is_recorded_as_each_would_be_alone(private: Bootstrapped) -> None:
    subscriber = random_id()
    delivered, failed, dead, already = written(private.unit_of_work, subscriber, 4)
    settle(private, already, Status.DELIVERED)
    ids = delivery_ids(private, [delivered, failed, dead, already])
    now = datetime.now(UTC)
    later = now + timedelta(seconds=30)
    verdicts = [
        (ids[delivered], Verdict(Status.DELIVERED, 1, now)),
        (ids[failed], Verdict(Status.PENDING, 1, later, "HTTP 500")),
        (ids[dead], Verdict(Status.DEAD, 1, now, "HTTP 410")),
        (ids[already], Verdict(Status.PENDING, 2, later, "late")),  # a late report: ignored
    ]
    with private.unit_of_work() as uow:
        uow.deliveries.settle_all(verdicts, now)
        uow.commit()
    with private.unit_of_work() as uow:
        found = {r.webhook_id: r for r in uow.deliveries.of_subscriber(subscriber, None, 10)}
    assert {w: (r.status, r.attempts, r.last_error) for w, r in found.items()} == {
        delivered: (Status.DELIVERED, 1, None),
        failed: (Status.PENDING, 1, "HTTP 500"),
        dead: (Status.DEAD, 1, "HTTP 410"),
        already: (Status.DELIVERED, 1, None),
    }
    assert found[delivered].delivered_at is not None


def delivery_ids(private: Bootstrapped, webhooks: list[str]) -> dict[str, int]:
    with private.engine.connect() as connection:
        rows = connection.execute(
            select(webhook_deliveries.c.webhook_id, webhook_deliveries.c.delivery_id).where(
                webhook_deliveries.c.webhook_id.in_(webhooks)
            )
        )
        return {row.webhook_id: row.delivery_id for row in rows}


# On the shared database, with random ids.

T0 = datetime(2026, 1, 1, 12, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_who_is_notified_is_decided_by_the_post_time_on_the_real_database(
    subscribe_deps: Bootstrapped,
) -> None:
    uow, author = subscribe_deps.unit_of_work, random_id()
    before, late, left, back = (random_id() for _ in range(4))
    subscribe(uow, before, author, at=at(0))
    subscribe(uow, left, author, at=at(0))
    subscribe(uow, back, author, at=at(0))
    unsubscribe(uow, back, author, at=at(1))
    event = PostCreated(uuid4(), random_id(), author, "made while Kafka was down", at(5))
    subscribe(uow, late, author, at=at(10))
    unsubscribe(uow, left, author, at=at(10))
    subscribe(uow, back, author, at=at(10))

    created, _ = notify_subscribers(uow, [event])

    assert sorted(n.subscriber_id for n in created) == sorted([before, left])


def test_subscribing_twice_at_once_opens_one_period(subscribe_deps: Bootstrapped) -> None:
    subscriber, author = random_id(), random_id()
    start = threading.Barrier(6)

    def twice() -> None:
        start.wait()
        subscribe(subscribe_deps.unit_of_work, subscriber, author)

    threads = [threading.Thread(target=twice) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    with subscribe_deps.engine.connect() as connection:
        periods = connection.scalar(
            select(func.count()).where(
                subscriptions.c.subscriber_id == subscriber, subscriptions.c.author_id == author
            )
        )
    assert periods == 1


class FailingCommit:
    """A unit of work that does everything but commit."""

    def __init__(self, deps: Bootstrapped) -> None:
        self.inner = deps.unit_of_work()

    def __enter__(self) -> UnitOfWork:
        uow = self.inner.__enter__()
        uow.commit = self.refuse  # type: ignore[method-assign]
        return uow

    def __exit__(self, *exc: object) -> None:
        self.inner.__exit__(None, None, None)

    @staticmethod
    def refuse() -> None:
        raise RuntimeError("the commit failed")


def test_a_notification_and_its_delivery_are_written_together_or_not_at_all(
    subscribe_deps: Bootstrapped, accepting_receiver: str
) -> None:
    subscriber, author = random_id(), random_id()
    subscribe(subscribe_deps.unit_of_work, subscriber, author)
    register_endpoint(subscribe_deps.unit_of_work, subscriber, accepting_receiver, None)
    event = PostCreated(uuid4(), random_id(), author, "t", datetime.now(UTC))

    def counts() -> tuple[int, int]:
        with subscribe_deps.engine.connect() as connection:
            mine = str(event.event_id)
            return (
                connection.scalar(select(func.count()).where(notifications.c.event_id == mine))
                or 0,
                connection.scalar(select(func.count()).where(webhook_deliveries.c.event_id == mine))
                or 0,
            )

    with pytest.raises(RuntimeError):
        notify_subscribers(lambda: FailingCommit(subscribe_deps), [event])  # type: ignore[arg-type, return-value]
    assert counts() == (0, 0)

    created, _ = notify_subscribers(subscribe_deps.unit_of_work, [event])
    assert [n.subscriber_id for n in created] == [subscriber]
    assert counts() == (1, 1)

    def delivered() -> bool:
        with subscribe_deps.unit_of_work() as uow:
            mine = uow.deliveries.of_subscriber(subscriber, Status.DELIVERED, 10)
        return [d.event_id for d in mine] == [str(event.event_id)]

    eventually(delivered, what="the running dispatcher to deliver it")


class Accepting(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["content-length"]))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def accepting_receiver() -> Iterator[str]:
    """A receiver that takes everything, for the running dispatcher to deliver to."""
    with ThreadingHTTPServer((WEBHOOK_RECEIVERS_HOST, 0), Accepting) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        yield f"http://{WEBHOOK_RECEIVERS_HOST}:{server.server_port}/hook"
        server.shutdown()
