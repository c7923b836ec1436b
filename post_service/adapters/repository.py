"""SQL implementations of the post service's ports, on one connection in one transaction."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import orjson
from sqlalchemy import Connection, Engine, Row, delete, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

import chassis.unit_of_work
from chassis.database_errors import blames_the_data, is_lock_conflict
from contract.events import AGGREGATE_TYPE, PostCreated, PostEvent
from post_service.adapters.tables import posts
from post_service.domain.idempotency import KEY_LIFETIME, EarlierAttempt, IdempotencyKey
from post_service.domain.posts import NewPost, Post, new_event_id, now
from post_service.service.ports import (
    AttemptInProgress,
    BatchRefused,
    IdempotencyKeys,
    Outbox,
    PostRepository,
    UnitOfWork,
)

# The write path runs on every POST: its statements go to the driver as they are. Building and
# caching a Core insert() per request cost more CPU than the rest of the transaction together
# (0.59 ms against 0.21 ms per post, measured in docs/benchmarks.md).
INSERT_POST = (
    "INSERT INTO posts (author_id, title, content, created_at, event_id)"
    " VALUES (%s, %s, %s, %s, %s)"
)
INSERT_EVENT = (
    "INSERT INTO post_event_outbox (id, aggregatetype, aggregateid, type, payload, created_at)"
    " VALUES (%s, %s, %s, %s, %s, %s)"
)
DELETE_EVENT = "DELETE FROM post_event_outbox WHERE id = %s"
DELETE_EVENTS = "DELETE FROM post_event_outbox WHERE id IN ({})"
# The ids a multi-row INSERT gave its posts, by their events' ids: consecutive ids are not
# promised (MySQL 8's default innodb_autoinc_lock_mode, 2, interleaves concurrent inserts).
# A locking read, as every statement of a batch: the transaction takes no snapshot, so a key
# another transaction committed meanwhile is a duplicate, never MariaDB's snapshot isolation's
# "record has changed since last read" (innodb_snapshot_isolation, on by default from 11.6).
IDS_OF_POSTS = "SELECT event_id, post_id FROM posts WHERE event_id IN ({}) LOCK IN SHARE MODE"
INSERT_KEY = (
    "INSERT INTO idempotency_keys (idempotency_key, request_fingerprint, created_at)"
    " VALUES (%s, %s, %s)"
)
INSERT_COMPLETED_KEY = (
    "INSERT INTO idempotency_keys (idempotency_key, request_fingerprint, created_at, post_id)"
    " VALUES (%s, %s, %s, %s)"
)
# A locking read: it sees the newest committed row, not this transaction's snapshot.
READ_KEY = (
    "SELECT request_fingerprint, post_id, created_at FROM idempotency_keys"
    " WHERE idempotency_key = %s LOCK IN SHARE MODE"
)
FORGET_KEY = "DELETE FROM idempotency_keys WHERE idempotency_key = %s"
COMPLETE_KEY = "UPDATE idempotency_keys SET post_id = %s WHERE idempotency_key = %s"
PURGE_KEYS = "DELETE FROM idempotency_keys WHERE created_at < %s LIMIT %s"


class SqlPostRepository(PostRepository):
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(self, new_post: NewPost) -> Post:
        created_at, event_id = now(), new_event_id()
        row = _post_row(new_post, created_at, event_id)
        post_id = self.connection.exec_driver_sql(INSERT_POST, row).lastrowid
        return Post(
            post_id, new_post.author_id, new_post.title, new_post.content, created_at, event_id
        )

    def add_all(self, new_posts: Sequence[NewPost]) -> list[Post]:
        """One INSERT of every row (PyMySQL's executemany writes a multi-row INSERT), then one
        SELECT of the ids they were given."""
        created_at, event_ids = now(), [new_event_id() for _ in new_posts]
        rows = [_post_row(p, created_at, e) for p, e in zip(new_posts, event_ids, strict=True)]
        with _refused_as_a_batch():
            self.connection.exec_driver_sql(INSERT_POST, rows)
        wanted = tuple(str(event_id) for event_id in event_ids)
        found = self.connection.exec_driver_sql(IDS_OF_POSTS.format(_marks(wanted)), wanted)
        post_ids = {UUID(event_id): post_id for event_id, post_id in found}
        return [
            Post(post_ids[e], p.author_id, p.title, p.content, created_at, e)
            for p, e in zip(new_posts, event_ids, strict=True)
        ]

    def created_since(self, since: datetime, after_post_id: int, limit: int) -> list[Post]:
        rows = self.connection.execute(
            select(posts)
            .where(posts.c.created_at >= since.astimezone(UTC).replace(tzinfo=None))
            .where(posts.c.post_id > after_post_id)
            .order_by(posts.c.post_id)
            .limit(limit)
        )
        return [_post(row) for row in rows]

    def get(self, post_id: int, for_update: bool = False) -> Post | None:
        query = select(posts).where(posts.c.post_id == post_id)
        row = self.connection.execute(query.with_for_update() if for_update else query).first()
        if row is None:
            return None
        return _post(row)

    def save(self, post: Post) -> None:
        assert post.updated_at is not None, "only an edited post is saved"
        self.connection.execute(
            update(posts)
            .where(posts.c.post_id == post.post_id)
            .values(
                title=post.title,
                content=post.content,
                version=post.version,
                updated_at=post.updated_at.astimezone(UTC).replace(tzinfo=None),
            )
        )

    def remove(self, post_id: int) -> None:
        self.connection.execute(delete(posts).where(posts.c.post_id == post_id))


def _post_row(
    new_post: NewPost, created_at: datetime, event_id: UUID
) -> tuple[int, str, str, datetime, str]:
    return (
        new_post.author_id,
        new_post.title,
        new_post.content,
        created_at.replace(tzinfo=None),
        str(event_id),
    )


def _marks(values: Sequence[object]) -> str:
    """The placeholders of an IN list of that many values."""
    return ", ".join(["%s"] * len(values))


@contextmanager
def _refused_as_a_batch() -> Iterator[None]:
    """A statement of several requests' rows that one of them may be to blame for: a key met
    before or held (IntegrityError, a lock conflict), or a value the database cannot store."""
    try:
        yield
    except Exception as error:  # the driver's DataError, or a value it cannot even encode
        if is_lock_conflict(error) or blames_the_data(error):
            raise BatchRefused(str(error)) from error
        raise


def _post(row: Row[Any]) -> Post:
    event_id = UUID(row.event_id) if row.event_id else None
    created_at = row.created_at.replace(tzinfo=UTC)
    updated_at = row.updated_at.replace(tzinfo=UTC) if row.updated_at else None
    return Post(
        row.post_id,
        row.author_id,
        row.title,
        row.content,
        created_at,
        event_id,
        row.version,
        updated_at,
    )


class SqlIdempotencyKeys(IdempotencyKeys):
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def claim(self, key: IdempotencyKey) -> EarlierAttempt | None:
        try:
            return self._claim(key)
        except OperationalError as error:
            # Another transaction holds the key: it waits at most the session's lock wait (a
            # second, set by the post service's engine), or one of two crossing attempts is chosen.
            if is_lock_conflict(error):
                raise AttemptInProgress(key.key) from error
            raise

    def _claim(self, key: IdempotencyKey) -> EarlierAttempt | None:
        try:
            self._insert(key)
        except IntegrityError:  # the key is there, committed
            row = self.connection.exec_driver_sql(READ_KEY, (key.key,)).first()
            if row is not None and row.post_id is not None and not _expired(row.created_at):
                return EarlierAttempt(row.request_fingerprint, row.post_id)
            self.connection.exec_driver_sql(FORGET_KEY, (key.key,))
            self._insert(key)
        return None

    def _insert(self, key: IdempotencyKey) -> None:
        created_at = now().replace(tzinfo=None)
        self.connection.exec_driver_sql(INSERT_KEY, (key.key, key.fingerprint, created_at))

    def complete(self, key: str, post_id: int) -> None:
        self.connection.exec_driver_sql(COMPLETE_KEY, (post_id, key))

    def record_all(self, made: Sequence[tuple[IdempotencyKey, int]]) -> None:
        if not made:
            return
        created_at = now().replace(tzinfo=None)
        # In the keys' order: two batches lock the keys they share in the same order, and wait
        # for each other instead of deadlocking.
        rows = sorted((k.key, k.fingerprint, created_at, post_id) for k, post_id in made)
        with _refused_as_a_batch():
            self.connection.exec_driver_sql(INSERT_COMPLETED_KEY, rows)

    def purge_expired(self, limit: int) -> int:
        cutoff = (now() - KEY_LIFETIME).replace(tzinfo=None)
        return self.connection.exec_driver_sql(PURGE_KEYS, (cutoff, limit)).rowcount


def _expired(created_at: datetime) -> bool:
    return created_at.replace(tzinfo=UTC) < now() - KEY_LIFETIME


class SqlOutbox(Outbox):
    """Inserts the event's row. In `cdc` mode it deletes the row again in the same transaction:
    Debezium reads the insert from the binlog. In `polling` mode the relay publishes it later."""

    def __init__(self, connection: Connection, keep_rows: bool) -> None:
        self.connection = connection
        self.keep_rows = keep_rows

    def append(self, event: PostEvent) -> None:
        self.connection.exec_driver_sql(INSERT_EVENT, _event_row(event))
        if not self.keep_rows:
            self.connection.exec_driver_sql(DELETE_EVENT, (str(event.event_id),))

    def append_all(self, events: Sequence[PostEvent]) -> None:
        with _refused_as_a_batch():
            self.connection.exec_driver_sql(INSERT_EVENT, [_event_row(e) for e in events])
        if not self.keep_rows:
            event_ids = tuple(str(event.event_id) for event in events)
            self.connection.exec_driver_sql(DELETE_EVENTS.format(_marks(event_ids)), event_ids)

    def append_again(self, event: PostCreated) -> None:
        self.connection.exec_driver_sql(DELETE_EVENT, (str(event.event_id),))
        self.append(event)


def _event_row(event: PostEvent) -> tuple[str, str, str, str, str, datetime]:
    return (
        str(event.event_id),
        AGGREGATE_TYPE,
        event.aggregate_id,
        event.event_type,
        orjson.dumps(event.payload()).decode(),
        event.occurred_at.astimezone(UTC).replace(tzinfo=None),
    )


class NoOutbox(Outbox):
    """`direct` mode, the tutorial's V1: no outbox; the event is published after the commit."""

    def append(self, event: PostEvent) -> None:
        pass

    def append_all(self, events: Sequence[PostEvent]) -> None:
        pass

    def append_again(self, event: PostCreated) -> None:
        raise NotImplementedError("direct mode has no outbox to send an event again through")


def cdc_outbox(connection: Connection) -> Outbox:
    """Relay mode `cdc`: Debezium reads the row's insert from the binlog."""
    return SqlOutbox(connection, keep_rows=False)


def polling_outbox(connection: Connection) -> Outbox:
    """Relay mode `polling`: the row waits for the relay."""
    return SqlOutbox(connection, keep_rows=True)


def no_outbox(connection: Connection) -> Outbox:
    """Relay mode `direct`."""
    return NoOutbox()


class SqlUnitOfWork(chassis.unit_of_work.SqlUnitOfWork, UnitOfWork):
    """The posts and the outbox on one transaction; the outbox as the relay mode wants it."""

    def __init__(self, engine: Engine, outbox: Callable[[Connection], Outbox] = cdc_outbox) -> None:
        super().__init__(engine)
        self.make_outbox = outbox

    def bind(self, connection: Connection) -> None:
        self.posts = SqlPostRepository(connection)
        self.outbox = self.make_outbox(connection)
        self.keys = SqlIdempotencyKeys(connection)
