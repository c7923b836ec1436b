"""The subscribe service's composition root: builds the engine, unit of work and notifier."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine, create_engine

from subscribe_service.adapters.notifier import LoggingNotifier
from subscribe_service.adapters.repository import SqlUnitOfWork
from subscribe_service.service.ports import Notifier, UnitOfWork
from subscribe_service.settings import Settings


@dataclass(frozen=True)
class Bootstrapped:
    settings: Settings
    engine: Engine
    unit_of_work: Callable[[], UnitOfWork]
    notifier: Notifier


def bootstrap(settings: Settings, notifier: Notifier | None = None) -> Bootstrapped:
    engine = create_engine(
        settings.db_url(settings.service_db_user, settings.service_db_password),
        pool_size=settings.db_pool_size,
        max_overflow=0,
        pool_pre_ping=True,
        pool_recycle=3600,
    )
    return Bootstrapped(
        settings, engine, lambda: SqlUnitOfWork(engine), notifier or LoggingNotifier()
    )
