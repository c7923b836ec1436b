"""The post service's composition root: builds the engine and the unit of work from settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import orjson
from sqlalchemy import Engine, create_engine

from post_service.adapters.repository import SqlUnitOfWork
from post_service.service.ports import UnitOfWork
from post_service.settings import Settings


@dataclass(frozen=True)
class Bootstrapped:
    engine: Engine
    unit_of_work: Callable[[], UnitOfWork]


def bootstrap(settings: Settings) -> Bootstrapped:
    engine = create_engine(
        settings.db_url(settings.service_db_user, settings.service_db_password),
        pool_size=settings.db_pool_size,
        max_overflow=0,
        pool_pre_ping=True,
        pool_recycle=3600,
        json_serializer=lambda value: orjson.dumps(value).decode(),
    )
    return Bootstrapped(engine, lambda: SqlUnitOfWork(engine))
