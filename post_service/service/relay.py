"""Use cases of the polling relay (relay mode `polling`, the tutorial's V2).

A round, in one transaction: claim a batch of unpublished rows, publish them, wait for Kafka's
acknowledgements, and mark published only the rows Kafka acknowledged. The tutorial marked rows
sent before the broker confirmed, and lost them while Kafka was down. Here a row Kafka did not
acknowledge stays unpublished and is sent again: at least once, in order, and the subscriber's
inbox removes the duplicates.
"""

from __future__ import annotations

from collections.abc import Callable

from post_service.service.ports import Publisher, RelayUnitOfWork

PUBLISH_TIMEOUT_S = 10.0


def publish_pending(
    unit_of_work: Callable[[], RelayUnitOfWork], publisher: Publisher, limit: int
) -> tuple[int, int]:
    """Claims, publishes and marks one batch; returns (claimed, acknowledged)."""
    with unit_of_work() as uow:
        events = uow.pending.claim(limit)
        if not events:
            return 0, 0
        acknowledged = publisher.publish(events, timeout_s=PUBLISH_TIMEOUT_S)
        uow.pending.mark_published(acknowledged)
        uow.commit()
    return len(events), len(acknowledged)


def purge_published(unit_of_work: Callable[[], RelayUnitOfWork], older_than_s: float) -> int:
    with unit_of_work() as uow:
        purged = uow.pending.purge(older_than_s)
        uow.commit()
    return purged


def backlog(unit_of_work: Callable[[], RelayUnitOfWork]) -> tuple[int, float]:
    """How many rows wait to be published, and the age in seconds of the oldest."""
    with unit_of_work() as uow:
        return uow.pending.backlog()
