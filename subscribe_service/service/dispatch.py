"""Use cases of the dispatcher, each a short transaction; the HTTP requests run between them,
outside any transaction: claim due deliveries under a lease, then record each attempt's verdict.

A dispatcher that dies after its claim never reports back; its lease ends and another dispatcher
claims the delivery again. So each delivery reaches its endpoint at least once, and a receiver
that dedupes by `webhook-id` sees it exactly once.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Collection
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


def record_attempt(
    unit_of_work: Callable[[], UnitOfWork],
    delivery: Delivery,
    outcome: Outcome,
    policy: RetryPolicy,
    rng: random.Random,
) -> Verdict:
    now = datetime.now(UTC)
    verdict = judge(delivery, outcome, policy, now, rng)
    with unit_of_work() as uow:
        uow.deliveries.settle(delivery.delivery_id, verdict, now)
        uow.commit()
    return verdict


def backlog(unit_of_work: Callable[[], UnitOfWork]) -> Backlog:
    with unit_of_work() as uow:
        return uow.deliveries.backlog(datetime.now(UTC))
