"""The default notifier: a log line per post event whose notifications were committed, after the
offsets. The record is the notifications table; what must reach a webhook endpoint is a pending
delivery written in the same transaction, which the dispatcher sends (service/dispatch.py), not
this."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import groupby
from operator import attrgetter

import structlog

from subscribe_service.domain.notifications import Notification
from subscribe_service.service.ports import Notifier

log = structlog.get_logger()

# A line names at most this many subscribers; the notifications table has them all.
SUBSCRIBERS_NAMED = 100


class LoggingNotifier(Notifier):
    def deliver(self, notifications: Sequence[Notification]) -> None:
        """One line per event, not per notification: a post of an author with thousands of
        subscribers is one line. At three subscribers per author, the notifier's lines were 16 %
        of the consumer's busy time (docs/benchmarks.md, "One log line per event")."""
        # A batch's notifications come event by event (notifications_of).
        for event_id, same_event in groupby(notifications, key=attrgetter("event_id")):
            notified = list(same_event)
            log.info(
                "notifications delivered",
                event_id=str(event_id),
                post_id=notified[0].post_id,
                subscribers=len(notified),
                subscriber_ids=[n.subscriber_id for n in notified[:SUBSCRIBERS_NAMED]],
            )
