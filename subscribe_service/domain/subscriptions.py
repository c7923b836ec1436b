"""Who is told of a post: a subscriber whose subscription existed when the post was created.

A subscription is a period, [subscribed_at, unsubscribed_at): unsubscribing closes it and keeps
it, subscribing again opens a new one, and subscribing while subscribed changes nothing. The
clock is the post's created_at (the post service's, UTC) against the subscription's period (the
subscribe service's, UTC), so the answer is the same whenever the event is applied: late, after a
replay, or after a reconcile. The two clocks are two machines': within their skew, a subscription
made in the same instant as a post may go either way.
"""

from __future__ import annotations

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
