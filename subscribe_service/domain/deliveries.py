"""Deliveries of notifications to webhook endpoints: pending until a 2xx, retried with backoff,
dead after the attempts or the hours of the retry policy. At least once to the endpoint; a receiver
that dedupes by `webhook-id` sees each notification exactly once."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

from subscribe_service.domain.notifications import Notification
from subscribe_service.domain.webhooks import Endpoint, body, webhook_id

ERROR_MAX_CHARS: Final = 500


class Status(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"


@dataclass(frozen=True)
class NewDelivery:
    """A notification to a subscriber with an endpoint, written in the consumer's transaction."""

    webhook_id: str
    event_id: str
    subscriber_id: int
    body: bytes

    @classmethod
    def of(cls, notification: Notification) -> NewDelivery:
        return cls(
            webhook_id(notification.event_id, notification.subscriber_id),
            str(notification.event_id),
            notification.subscriber_id,
            body(notification),
        )


@dataclass(frozen=True)
class Delivery:
    """A delivery a dispatcher claimed: what to send, where (None: the endpoint was removed)."""

    delivery_id: int
    webhook_id: str
    event_id: str
    subscriber_id: int
    body: bytes
    attempts: int
    created_at: datetime
    endpoint: Endpoint | None


@dataclass(frozen=True)
class DeliveryRecord:
    """A delivery as the API shows it."""

    webhook_id: str
    event_id: str
    status: Status
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    delivered_at: datetime | None
    last_error: str | None


@dataclass(frozen=True)
class Outcome:
    """How one attempt ended: a 2xx, or why not; `gone` when the receiver answered 410 Gone,
    which the specification reads as "stop sending", so the delivery is not retried."""

    delivered: bool
    error: str = ""
    gone: bool = False

    @classmethod
    def success(cls) -> Outcome:
        return cls(delivered=True)

    @classmethod
    def failure(cls, error: str, gone: bool = False) -> Outcome:
        return cls(delivered=False, error=error[:ERROR_MAX_CHARS], gone=gone)


@dataclass(frozen=True)
class RetryPolicy:
    """After the n-th failed attempt the next comes min(cap, base * 2**(n-1)) seconds later, times
    a jitter drawn uniformly from [1 - jitter, 1 + jitter]; after max_attempts attempts, or once
    max_age has passed since the delivery was written, it is dead."""

    max_attempts: int = 20
    max_age: timedelta = timedelta(hours=24)
    base_s: float = 2.0
    cap_s: float = 7200.0
    jitter: float = 0.5

    def delay(self, attempts: int, rng: random.Random) -> timedelta:
        """How long to wait after `attempts` failed attempts."""
        nominal = min(self.cap_s, self.base_s * 2 ** min(attempts - 1, 62))
        return timedelta(seconds=nominal * rng.uniform(1 - self.jitter, 1 + self.jitter))

    def gives_up(self, attempts: int, created_at: datetime, now: datetime) -> bool:
        return attempts >= self.max_attempts or now - created_at >= self.max_age


@dataclass(frozen=True)
class Verdict:
    """What an attempt's outcome makes of the delivery: its new status, attempts and next time."""

    status: Status
    attempts: int
    next_attempt_at: datetime
    error: str = ""


def judge(
    delivery: Delivery, outcome: Outcome, policy: RetryPolicy, now: datetime, rng: random.Random
) -> Verdict:
    attempts = delivery.attempts + 1
    if outcome.delivered:
        return Verdict(Status.DELIVERED, attempts, now)
    if outcome.gone or policy.gives_up(attempts, delivery.created_at, now):
        return Verdict(Status.DEAD, attempts, now, outcome.error)
    return Verdict(Status.PENDING, attempts, now + policy.delay(attempts, rng), outcome.error)
