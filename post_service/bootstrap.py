"""The post service's composition root: builds the engine and the unit of work from settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import orjson
from sqlalchemy import Engine, create_engine

from post_service.adapters.kafka import EventPublisher
from post_service.adapters.repository import SqlUnitOfWork
from post_service.domain.posts import PostCreated
from post_service.service.ports import UnitOfWork
from post_service.settings import RelayMode, Settings


@dataclass(frozen=True)
class Bootstrapped:
    engine: Engine
    unit_of_work: Callable[[], UnitOfWork]
    # Set in `direct` relay mode only: publishes an event once its transaction committed.
    after_commit: Callable[[PostCreated], None] | None = None


def bootstrap(settings: Settings) -> Bootstrapped:
    engine = create_engine(
        settings.db_url(settings.service_db_user, settings.service_db_password),
        pool_size=settings.db_pool_size,
        max_overflow=0,
        pool_pre_ping=True,
        pool_recycle=3600,
        json_serializer=lambda value: orjson.dumps(value).decode(),
    )
    mode = settings.relay_mode
    after_commit = None
    if mode == RelayMode.DIRECT:
        publisher = EventPublisher(
            settings.kafka_bootstrap_servers,
            settings.events_topic,
            message_timeout_ms=settings.direct_publish_timeout_ms,
        )
        publisher.serve_deliveries()
        after_commit = publisher.publish_and_forget
    return Bootstrapped(engine, lambda: SqlUnitOfWork(engine, mode), after_commit)
