"""Use cases of the polling relay (relay mode `polling`, the tutorial's V2).

A round, in one transaction: claim a batch of unpublished rows, publish them, wait for Kafka's
acknowledgements, and mark published only the rows Kafka acknowledged. The tutorial marked rows
sent before the broker confirmed, and lost them while Kafka was down. Here a row Kafka did not
acknowledge stays unpublished and is sent again: at least once, in order, and the subscriber's
inbox removes the duplicates. Each post's events go in the order they were written, whatever
the number of relays (domain/publication.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from post_service.domain.publication import acknowledged_in_order
from post_service.service.ports import Publisher, RelayUnitOfWork

PUBLISH_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Round:
    """What one round of the relay did."""

    claimed: int
    acknowledged: int
    set_aside: int = 0

    @property
    def failed(self) -> bool:
        """Kafka did not take every event claimed."""
        return self.acknowledged < self.claimed


def publish_pending(
    unit_of_work: Callable[[], RelayUnitOfWork], publisher: Publisher, limit: int
) -> Round:
    """Claims, publishes and marks one batch. A row that cannot be read is set aside with its
    error in the same transaction, so that it never blocks the rows behind it."""
    with unit_of_work() as uow:
        claimed = uow.pending.claim(limit)
        if claimed.unreadable:
            uow.pending.set_aside(claimed.unreadable)
        acknowledged = (
            publisher.publish(claimed.events, timeout_s=PUBLISH_TIMEOUT_S)
            if claimed.events
            else set()
        )
        marked = acknowledged_in_order(claimed.events, acknowledged)
        uow.pending.mark_published(marked)
        uow.commit()
    return Round(len(claimed.events), len(marked), len(claimed.unreadable))


def purge_published(unit_of_work: Callable[[], RelayUnitOfWork], older_than_s: float) -> int:
    with unit_of_work() as uow:
        purged = uow.pending.purge(older_than_s)
        uow.commit()
    return purged


def backlog(unit_of_work: Callable[[], RelayUnitOfWork]) -> tuple[int, float]:
    """How many rows wait to be published, and the age in seconds of the oldest."""
    with unit_of_work() as uow:
        return uow.pending.backlog()
