"""SQL implementations of the subscribe service's ports, on one connection in one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC
from uuid import UUID

from sqlalchemy import Connection, delete, insert, select

import chassis.unit_of_work
from contract.events import PostCreated
from subscribe_service.adapters.tables import notifications, processed_events, subscriptions
from subscribe_service.domain.notifications import Notification
from subscribe_service.service.ports import Inbox, Notifications, Subscriptions, UnitOfWork


class SqlSubscriptions(Subscriptions):
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(self, subscriber_id: int, author_id: int) -> None:
        self.connection.execute(
            insert(subscriptions)
            .prefix_with("IGNORE")
            .values(subscriber_id=subscriber_id, author_id=author_id)
        )

    def remove(self, subscriber_id: int, author_id: int) -> bool:
        result = self.connection.execute(
            delete(subscriptions).where(
                subscriptions.c.subscriber_id == subscriber_id,
                subscriptions.c.author_id == author_id,
            )
        )
        return result.rowcount > 0

    def subscribers_of(self, author_id: int) -> list[int]:
        rows = self.connection.execute(
            select(subscriptions.c.subscriber_id).where(subscriptions.c.author_id == author_id)
        )
        return list(rows.scalars())


class SqlInbox(Inbox):
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def record(self, event: PostCreated) -> bool:
        # INSERT IGNORE turns the duplicate key of an event seen before into "0 rows": no error,
        # no race between a check and an insert. A concurrent attempt waits on the row lock.
        result = self.connection.execute(
            insert(processed_events).prefix_with("IGNORE").values(event_id=str(event.event_id))
        )
        return result.rowcount == 1


class SqlNotifications(Notifications):
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(self, new: Sequence[Notification]) -> None:
        if not new:
            return
        self.connection.execute(
            insert(notifications),
            [
                {
                    "event_id": str(n.event_id),
                    "subscriber_id": n.subscriber_id,
                    "post_id": n.post_id,
                    "author_id": n.author_id,
                    "title": n.title,
                    "post_created_at": n.created_at.astimezone(UTC).replace(tzinfo=None),
                }
                for n in new
            ],
        )

    def latest_for(self, subscriber_id: int, limit: int) -> list[Notification]:
        rows = self.connection.execute(
            select(notifications)
            .where(notifications.c.subscriber_id == subscriber_id)
            .order_by(notifications.c.notification_id.desc())
            .limit(limit)
        )
        return [
            Notification(
                UUID(row.event_id),
                row.subscriber_id,
                row.post_id,
                row.author_id,
                row.title,
                row.post_created_at.replace(tzinfo=UTC),
                row.notified_at.replace(tzinfo=UTC),
            )
            for row in rows
        ]


class SqlUnitOfWork(chassis.unit_of_work.SqlUnitOfWork, UnitOfWork):
    def bind(self, connection: Connection) -> None:
        self.subscriptions = SqlSubscriptions(connection)
        self.inbox = SqlInbox(connection)
        self.notifications = SqlNotifications(connection)
