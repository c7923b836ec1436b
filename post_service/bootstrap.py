"""The post service's composition roots: each process's engine, unit of work and publisher,
built from its settings. Nothing connects at import time."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import orjson
from sqlalchemy import Engine

from chassis.database import create_engine
from contract.events import PostEvent
from post_service.adapters.kafka import EventPublisher
from post_service.adapters.pending_events import SqlRelayUnitOfWork
from post_service.adapters.repository import (
    SqlUnitOfWork,
    cdc_outbox,
    no_outbox,
    polling_outbox,
)
from post_service.service.ports import Publisher, RelayUnitOfWork, UnitOfWork
from post_service.settings import RelayMode, RelaySettings, Settings

OUTBOX_OF_MODE = {
    RelayMode.CDC: cdc_outbox,
    RelayMode.POLLING: polling_outbox,
    RelayMode.DIRECT: no_outbox,
}


@dataclass(frozen=True)
class Bootstrapped:
    engine: Engine
    unit_of_work: Callable[[], UnitOfWork]
    # Set in `direct` relay mode only: publishes an event once its transaction committed.
    after_commit: Callable[[PostEvent], None] | None = None
    # Settings' default, for the tests that build these by hand.
    http_max_in_flight: int = Settings.model_fields["http_max_in_flight"].default
    create_committers: int = Settings.model_fields["create_committers"].default
    create_max_batch: int = Settings.model_fields["create_max_batch"].default
    create_linger_ms: float = Settings.model_fields["create_linger_ms"].default
    # What the process does as it stops: in `direct` mode, hand over or count what is queued.
    close: Callable[[], None] = lambda: None


def bootstrap(settings: Settings) -> Bootstrapped:
    """The API's (and reconcile's) dependencies."""
    engine = create_engine(
        settings.db_url(settings.service_db_user, settings.service_db_password),
        settings.db_pool_size,
        json_serializer=lambda value: orjson.dumps(value).decode(),
        # The one lock two requests can contend for is an idempotency key's: the second waits
        # a second at most, then answers 409 (the first is still in progress).
        connect_args={"init_command": "SET SESSION innodb_lock_wait_timeout = 1"},
    )
    mode = settings.relay_mode
    outbox = OUTBOX_OF_MODE[mode]
    deps = Bootstrapped(
        engine,
        lambda: SqlUnitOfWork(engine, outbox),
        http_max_in_flight=settings.http_max_in_flight,
        create_committers=settings.create_committers,
        create_max_batch=settings.create_max_batch,
        create_linger_ms=settings.create_linger_ms,
    )
    if mode != RelayMode.DIRECT:
        return deps
    publisher = EventPublisher(
        settings.kafka_bootstrap_servers,
        settings.events_topic,
        message_timeout_ms=settings.direct_publish_timeout_ms,
    )
    publisher.serve_deliveries()
    return replace(deps, after_commit=publisher.publish_and_forget, close=publisher.close)


@dataclass(frozen=True)
class RelayDependencies:
    engine: Engine
    unit_of_work: Callable[[], RelayUnitOfWork]
    publisher: Publisher


def bootstrap_relay(settings: RelaySettings) -> RelayDependencies:
    """The polling relay's dependencies: one connection, and a producer that waits for acks."""
    engine = create_engine(
        settings.db_url(settings.relay_db_user, settings.relay_db_password),
        pool_size=1,
        # Under REPEATABLE READ the claim's FOR UPDATE would also lock the gaps of the index it
        # scans, and block the post service's inserts for as long as Kafka takes to answer.
        isolation_level="READ COMMITTED",
    )
    publisher = EventPublisher(
        settings.kafka_bootstrap_servers, settings.events_topic, message_timeout_ms=10_000
    )
    return RelayDependencies(engine, lambda: SqlRelayUnitOfWork(engine), publisher)
