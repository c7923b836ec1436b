"""Use cases of the dispatcher, each a short transaction; the HTTP requests run between them,
outside any transaction: claim due deliveries under a lease, then record each attempt's verdict.

A dispatcher that dies after its claim never reports back; its lease ends and another dispatcher
claims the delivery again. So each delivery reaches its endpoint at least once, and a receiver
that dedupes by `webhook-id` sees it exactly once.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Collection, Sequence
from datetime import UTC, datetime, timedelta

from subscribe_service.domain.deliveries import Delivery, Outcome, RetryPolicy, Verdict, judge
from subscribe_service.service.ports import Backlog, UnitOfWork


def claim_due(
    unit_of_work: Callable[[], UnitOfWork],
    limit: int,
    lease: timedelta,
    skip_subscribers: Collection[int] = (),
    per_subscriber: int = 1_000_000,
) -> list[Delivery]:
    with unit_of_work() as uow:
        claimed = uow.deliveries.claim(
            datetime.now(UTC), lease, limit, skip_subscribers, per_subscriber
        )
        uow.commit()
    return claimed


def record_attempts(
    unit_of_work: Callable[[], UnitOfWork],
    attempts: Sequence[tuple[Delivery, Outcome]],
    policy: RetryPolicy,
    rng: random.Random,
) -> list[Verdict]:
    """The verdicts of the attempts, recorded in one transaction: one commit for a whole batch
    of outcomes, not one per delivery."""
    now = datetime.now(UTC)
    verdicts = [judge(delivery, outcome, policy, now, rng) for delivery, outcome in attempts]
    settled = [(d.delivery_id, v) for (d, _), v in zip(attempts, verdicts, strict=True)]
    with unit_of_work() as uow:
        uow.deliveries.settle_all(settled, now)
        uow.commit()
    return verdicts


def backlog(unit_of_work: Callable[[], UnitOfWork]) -> Backlog:
    with unit_of_work() as uow:
        return uow.deliveries.backlog(datetime.now(UTC))
