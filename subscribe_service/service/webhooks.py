"""Use cases of webhooks: a subscriber's endpoint, its deliveries, and retrying the dead."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from subscribe_service.domain.deliveries import DeliveryRecord, Status
from subscribe_service.domain.webhooks import Endpoint, generate_secret
from subscribe_service.service.ports import UnitOfWork

REVIVE_BATCH = 1000


@dataclass(frozen=True)
class Registered:
    endpoint: Endpoint
    secret_generated: bool


def register_endpoint(
    unit_of_work: Callable[[], UnitOfWork], subscriber_id: int, url: str, secret: str | None
) -> Registered:
    """Registers or replaces the subscriber's endpoint; without a secret, generates one. Pending
    deliveries go to the endpoint registered when they are sent."""
    endpoint = Endpoint(subscriber_id, url, secret or generate_secret())
    with unit_of_work() as uow:
        uow.endpoints.put(endpoint)
        uow.commit()
    return Registered(endpoint, secret_generated=secret is None)


def endpoint_of(unit_of_work: Callable[[], UnitOfWork], subscriber_id: int) -> Endpoint | None:
    with unit_of_work() as uow:
        return uow.endpoints.get(subscriber_id)


def remove_endpoint(unit_of_work: Callable[[], UnitOfWork], subscriber_id: int) -> bool:
    """Later notifications are only recorded; deliveries still pending die at their next attempt."""
    with unit_of_work() as uow:
        removed = uow.endpoints.remove(subscriber_id)
        uow.commit()
    return removed


def deliveries_of(
    unit_of_work: Callable[[], UnitOfWork], subscriber_id: int, status: Status | None, limit: int
) -> list[DeliveryRecord]:
    with unit_of_work() as uow:
        return uow.deliveries.of_subscriber(subscriber_id, status, limit)


def retry_dead(
    unit_of_work: Callable[[], UnitOfWork],
    subscriber_id: int | None = None,
    batch: int = REVIVE_BATCH,
) -> int:
    """Makes the dead deliveries (of one subscriber, or all) pending again, due at once, with a
    full retry policy ahead of them, `batch` at a time: each a short transaction, however many
    died (one UPDATE of them all could outlast the connection's silence limit, and be undone).
    Returns how many."""
    revived = 0
    while True:
        with unit_of_work() as uow:
            done = uow.deliveries.revive(datetime.now(UTC), subscriber_id, batch)
            uow.commit()
        revived += done
        if done < batch:
            return revived
