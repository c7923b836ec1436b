"""Who is told of a post: a subscriber whose subscription existed when the post was created.

A subscription is a period, [subscribed_at, unsubscribed_at): unsubscribing closes it and keeps
it, subscribing again opens a new one, and subscribing while subscribed changes nothing. The
clock is the post's created_at (the post service's, UTC) against the subscription's period (the
subscribe service's, UTC), so the answer is the same whenever the event is applied: late, after a
replay, or after a reconcile. The two clocks are two machines': within their skew, a subscription
made in the same instant as a post may go either way.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class SubscriptionPeriod:
    subscriber_id: int
    author_id: int
    subscribed_at: datetime
    unsubscribed_at: datetime | None = None

    def covers(self, moment: datetime) -> bool:
        """The subscription existed at that moment: subscribed at or before it, not yet ended."""
        ended = self.unsubscribed_at is not None and self.unsubscribed_at <= moment
        return self.subscribed_at <= moment and not ended


class Subscribers:
    """Who was subscribed to which author when, from the periods of a few authors."""

    def __init__(self, periods: Iterable[SubscriptionPeriod]) -> None:
        self.by_author: dict[int, list[SubscriptionPeriod]] = defaultdict(list)
        for period in periods:
            self.by_author[period.author_id].append(period)

    def of(self, author_id: int, at: datetime) -> list[int]:
        """The author's subscribers at that moment (a post's created_at), each once."""
        return sorted({p.subscriber_id for p in self.by_author[author_id] if p.covers(at)})
