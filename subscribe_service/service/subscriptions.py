"""Use cases of subscriptions."""

from __future__ import annotations

from collections.abc import Callable

from subscribe_service.service.ports import UnitOfWork


def subscribe(unit_of_work: Callable[[], UnitOfWork], subscriber_id: int, author_id: int) -> None:
    with unit_of_work() as uow:
        uow.subscriptions.add(subscriber_id, author_id)
        uow.commit()


def unsubscribe(unit_of_work: Callable[[], UnitOfWork], subscriber_id: int, author_id: int) -> bool:
    with unit_of_work() as uow:
        removed = uow.subscriptions.remove(subscriber_id, author_id)
        uow.commit()
    return removed
