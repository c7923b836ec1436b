"""Use cases of subscriptions: each opens or ends a period, and ended periods are kept, so that
who was subscribed when a post was created can be answered at any later time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from subscribe_service.service.ports import UnitOfWork


def subscribe(
    unit_of_work: Callable[[], UnitOfWork],
    subscriber_id: int,
    author_id: int,
    at: datetime | None = None,
) -> None:
    with unit_of_work() as uow:
        uow.subscriptions.add(subscriber_id, author_id, at or datetime.now(UTC))
        uow.commit()


def unsubscribe(
    unit_of_work: Callable[[], UnitOfWork],
    subscriber_id: int,
    author_id: int,
    at: datetime | None = None,
) -> bool:
    with unit_of_work() as uow:
        removed = uow.subscriptions.remove(subscriber_id, author_id, at or datetime.now(UTC))
        uow.commit()
    return removed
