"""The outbox as the polling relay sees it: claim unpublished rows, mark them, purge old ones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import orjson
from sqlalchemy import Connection, delete, func, select, update

import chassis.unit_of_work
from contract.events import (
    POST_CREATED,
    POST_DELETED,
    POST_UPDATED,
    PostCreated,
    PostDeleted,
    PostEvent,
    PostUpdated,
)
from post_service.adapters.tables import post_event_outbox as outbox
from post_service.domain.publication import Pending, publishable
from post_service.service.ports import Claimed, PendingEvents, RelayUnitOfWork


def claim(connection: Connection, limit: int) -> Claimed:
    """The oldest unpublished rows, locked until this transaction ends. SKIP LOCKED passes over
    rows another relay holds, so two relays never publish the same row at once; and a row whose
    post has an earlier unpublished row that another relay holds is left for a later round, so a
    post's events go in their order (domain/publication.py)."""
    rows = list(
        connection.execute(
            select(
                outbox.c.id,
                outbox.c.aggregateid,
                outbox.c.sequence,
                outbox.c.type,
                outbox.c.payload,
            )
            .where(outbox.c.published_at.is_(None), outbox.c.set_aside_at.is_(None))
            .order_by(outbox.c.sequence)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    pending = [Pending(row.id, row.aggregateid, row.sequence) for row in rows]
    allowed = publishable(pending, unpublished_of(connection, pending))
    claimed = Claimed(events=[])
    for row in rows:
        if row.id not in allowed:
            continue
        try:
            claimed.events.append(_event(row.id, row.type, row.payload))
        except UNREADABLE as error:
            claimed.unreadable[row.id] = f"{type(error).__name__}: {error}"
    return claimed


def unpublished_of(connection: Connection, pending: list[Pending]) -> dict[str, list[int]]:
    """The sequences of the unpublished rows of the posts of `pending`, up to its last, in
    order: those another relay holds among them. A plain read, which locked rows do not stop."""
    if not pending:
        return {}
    rows = connection.execute(
        select(outbox.c.aggregateid, outbox.c.sequence)
        .where(
            outbox.c.published_at.is_(None),
            outbox.c.set_aside_at.is_(None),
            outbox.c.aggregateid.in_({row.aggregate_id for row in pending}),
            outbox.c.sequence <= max(row.sequence for row in pending),
        )
        .order_by(outbox.c.sequence)
    )
    unpublished: dict[str, list[int]] = {}
    for aggregate_id, sequence in rows:
        unpublished.setdefault(aggregate_id, []).append(sequence)
    return unpublished


def set_aside(connection: Connection, unreadable: dict[str, str]) -> None:
    for event_id, error in unreadable.items():
        connection.execute(
            update(outbox)
            .where(outbox.c.id == event_id)
            .values(set_aside_at=datetime.now(UTC).replace(tzinfo=None), set_aside_error=error)
        )


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
        select(func.count(), func.min(outbox.c.created_at)).where(
            outbox.c.published_at.is_(None), outbox.c.set_aside_at.is_(None)
        )
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


# What reading a row's payload raises when it was not written by this service's code.
UNREADABLE = (ValueError, KeyError, TypeError)


def _event(event_id: str, event_type: str, payload: object) -> PostEvent:
    """The event a row holds, as the post service wrote it."""
    body = orjson.loads(payload) if isinstance(payload, str | bytes) else payload
    if not isinstance(body, dict):
        raise TypeError(f"the payload is a {type(body).__name__}, not a JSON object")
    common = {
        "event_id": UUID(event_id),
        "post_id": body["post_id"],
        "author_id": body["author_id"],
    }
    if event_type == POST_CREATED:
        return PostCreated(
            **common,
            title=body["title"],
            created_at=datetime.fromisoformat(body["created_at"]),
            version=body.get("version", 1),
        )
    if event_type == POST_UPDATED:
        return PostUpdated(
            **common,
            title=body["title"],
            version=body["version"],
            updated_at=datetime.fromisoformat(body["updated_at"]),
        )
    if event_type == POST_DELETED:
        return PostDeleted(
            **common, version=body["version"], deleted_at=datetime.fromisoformat(body["deleted_at"])
        )
    raise ValueError(f"unknown event type {event_type!r}")


class SqlPendingEvents(PendingEvents):
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def claim(self, limit: int) -> Claimed:
        return claim(self.connection, limit)

    def set_aside(self, unreadable: dict[str, str]) -> None:
        set_aside(self.connection, unreadable)

    def mark_published(self, event_ids: set[str]) -> None:
        mark_published(self.connection, event_ids)

    def backlog(self) -> tuple[int, float]:
        return backlog(self.connection)

    def purge(self, older_than_s: float) -> int:
        return purge(self.connection, older_than_s)


class SqlRelayUnitOfWork(chassis.unit_of_work.SqlUnitOfWork, RelayUnitOfWork):
    def bind(self, connection: Connection) -> None:
        self.pending = SqlPendingEvents(connection)
