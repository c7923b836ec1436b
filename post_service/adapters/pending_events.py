"""The outbox as the polling relay sees it: claim unpublished rows, mark them, purge old ones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import orjson
from sqlalchemy import Connection, delete, func, select, update

import chassis.unit_of_work
from contract.events import PostCreated
from post_service.adapters.tables import post_event_outbox as outbox
from post_service.service.ports import PendingEvents, RelayUnitOfWork


def claim(connection: Connection, limit: int) -> list[PostCreated]:
    """The oldest unpublished events, locked until this transaction ends. SKIP LOCKED passes over
    rows another relay holds, so two relays never publish the same row at once."""
    rows = connection.execute(
        select(outbox.c.id, outbox.c.payload)
        .where(outbox.c.published_at.is_(None))
        .order_by(outbox.c.sequence)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [_event(row.id, row.payload) for row in rows]


def mark_published(connection: Connection, event_ids: set[str]) -> None:
    if event_ids:
        connection.execute(
            update(outbox)
            .where(outbox.c.id.in_(event_ids))
            .values(published_at=datetime.now(UTC).replace(tzinfo=None))
        )


def backlog(connection: Connection) -> tuple[int, float]:
    """How many rows wait to be published, and the age in seconds of the oldest."""
    count, oldest = connection.execute(
        select(func.count(), func.min(outbox.c.created_at)).where(outbox.c.published_at.is_(None))
    ).one()
    if oldest is None:
        return 0, 0.0
    return int(count), (datetime.now(UTC).replace(tzinfo=None) - oldest).total_seconds()


def purge(connection: Connection, older_than_s: float, limit: int = 5000) -> int:
    """Deletes published rows older than the retention, a bounded batch at a time."""
    cutoff = datetime.now(UTC).replace(tzinfo=None) - timedelta(seconds=older_than_s)
    result = connection.execute(
        delete(outbox).where(outbox.c.published_at < cutoff).with_dialect_options(mysql_limit=limit)
    )
    return result.rowcount


def _event(event_id: str, payload: object) -> PostCreated:
    body = orjson.loads(payload) if isinstance(payload, str | bytes) else payload
    assert isinstance(body, dict)
    return PostCreated(
        event_id=UUID(event_id),
        post_id=body["post_id"],
        author_id=body["author_id"],
        title=body["title"],
        created_at=datetime.fromisoformat(body["created_at"]),
    )


class SqlPendingEvents(PendingEvents):
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def claim(self, limit: int) -> list[PostCreated]:
        return claim(self.connection, limit)

    def mark_published(self, event_ids: set[str]) -> None:
        mark_published(self.connection, event_ids)

    def backlog(self) -> tuple[int, float]:
        return backlog(self.connection)

    def purge(self, older_than_s: float) -> int:
        return purge(self.connection, older_than_s)


class SqlRelayUnitOfWork(chassis.unit_of_work.SqlUnitOfWork, RelayUnitOfWork):
    def bind(self, connection: Connection) -> None:
        self.pending = SqlPendingEvents(connection)
