"""The default notifier: a log line per notification committed, after the offsets. The record is
the notifications table; what must reach a webhook endpoint is a pending delivery written in the
same transaction, which the dispatcher sends (service/dispatch.py), not this."""

from __future__ import annotations

from collections.abc import Sequence

import structlog

from subscribe_service.domain.notifications import Notification
from subscribe_service.service.ports import Notifier

log = structlog.get_logger()


class LoggingNotifier(Notifier):
    def deliver(self, notifications: Sequence[Notification]) -> None:
        for n in notifications:
            log.info(
                "notification delivered",
                event_id=str(n.event_id),
                subscriber_id=n.subscriber_id,
                post_id=n.post_id,
            )
