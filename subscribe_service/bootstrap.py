"""The subscribe service's composition roots: the API's, the consumer's and the dispatcher's
dependencies, built from settings. Nothing connects at import time."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine

from chassis.database import create_engine
from subscribe_service.adapters.kafka import EventStream
from subscribe_service.adapters.notifier import LoggingNotifier
from subscribe_service.adapters.repository import SqlUnitOfWork
from subscribe_service.adapters.webhook_sender import HttpWebhookSender
from subscribe_service.service.ports import Notifier, UnitOfWork, WebhookSender
from subscribe_service.settings import Settings


@dataclass(frozen=True)
class Bootstrapped:
    settings: Settings
    engine: Engine
    unit_of_work: Callable[[], UnitOfWork]
    notifier: Notifier


def bootstrap(settings: Settings, notifier: Notifier | None = None) -> Bootstrapped:
    """The API's dependencies, and the database half of the consumer's and the dispatcher's."""
    engine = create_engine(
        settings.db_url(settings.service_db_user, settings.service_db_password),
        settings.db_pool_size,
    )
    return Bootstrapped(
        settings, engine, lambda: SqlUnitOfWork(engine), notifier or LoggingNotifier()
    )


@dataclass(frozen=True)
class ConsumerDependencies:
    deps: Bootstrapped
    stream: EventStream


def bootstrap_consumer(settings: Settings) -> ConsumerDependencies:
    """The consumer's dependencies: the database's, and the events topic as a stream."""
    return ConsumerDependencies(bootstrap(settings), EventStream(settings))


@dataclass(frozen=True)
class DispatcherDependencies:
    deps: Bootstrapped
    sender: WebhookSender


def bootstrap_dispatcher(settings: Settings) -> DispatcherDependencies:
    """The dispatcher's dependencies: the database's, and an HTTP client for the endpoints."""
    return DispatcherDependencies(bootstrap(settings), HttpWebhookSender(settings))
