"""SQL implementations of the post service's ports, on one connection in one transaction."""

from __future__ import annotations

from datetime import UTC, datetime
from types import TracebackType
from typing import Any
from uuid import UUID, uuid4

import orjson
from sqlalchemy import Connection, Engine, RootTransaction, Row, select

from post_service.adapters.tables import posts
from post_service.domain.posts import AGGREGATE_TYPE, POST_CREATED, NewPost, Post, PostCreated, now
from post_service.service.ports import Outbox, PostRepository, UnitOfWork
from post_service.settings import RelayMode

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


class SqlPostRepository(PostRepository):
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(self, new_post: NewPost) -> Post:
        created_at, event_id = now(), uuid4()
        row = (
            new_post.author_id,
            new_post.title,
            new_post.content,
            created_at.replace(tzinfo=None),
            str(event_id),
        )
        post_id = self.connection.exec_driver_sql(INSERT_POST, row).lastrowid
        return Post(
            post_id, new_post.author_id, new_post.title, new_post.content, created_at, event_id
        )

    def created_since(self, since: datetime, after_post_id: int, limit: int) -> list[Post]:
        rows = self.connection.execute(
            select(posts)
            .where(posts.c.created_at >= since.astimezone(UTC).replace(tzinfo=None))
            .where(posts.c.post_id > after_post_id)
            .order_by(posts.c.post_id)
            .limit(limit)
        )
        return [_post(row) for row in rows]

    def get(self, post_id: int) -> Post | None:
        row = self.connection.execute(select(posts).where(posts.c.post_id == post_id)).first()
        if row is None:
            return None
        return _post(row)


def _post(row: Row[Any]) -> Post:
    event_id = UUID(row.event_id) if row.event_id else None
    created_at = row.created_at.replace(tzinfo=UTC)
    return Post(row.post_id, row.author_id, row.title, row.content, created_at, event_id)


class SqlOutbox(Outbox):
    """Inserts the event's row. In `cdc` mode it deletes the row again in the same transaction:
    Debezium reads the insert from the binlog. In `polling` mode the relay publishes it later."""

    def __init__(self, connection: Connection, keep_rows: bool) -> None:
        self.connection = connection
        self.keep_rows = keep_rows

    def append(self, event: PostCreated) -> None:
        event_id = str(event.event_id)
        self.connection.exec_driver_sql(
            INSERT_EVENT,
            (
                event_id,
                AGGREGATE_TYPE,
                event.aggregate_id,
                POST_CREATED,
                orjson.dumps(event.payload()).decode(),
                event.created_at.replace(tzinfo=None),
            ),
        )
        if not self.keep_rows:
            self.connection.exec_driver_sql(DELETE_EVENT, (event_id,))


class NoOutbox(Outbox):
    """`direct` mode, the tutorial's V1: no outbox; the event is published after the commit."""

    def append(self, event: PostCreated) -> None:
        pass


class SqlUnitOfWork(UnitOfWork):
    def __init__(self, engine: Engine, relay_mode: RelayMode = RelayMode.CDC) -> None:
        self.engine = engine
        self.relay_mode = relay_mode

    def __enter__(self) -> SqlUnitOfWork:
        self.connection = self.engine.connect()
        self.transaction: RootTransaction = self.connection.begin()
        self.posts = SqlPostRepository(self.connection)
        self.outbox: Outbox = (
            NoOutbox()
            if self.relay_mode == RelayMode.DIRECT
            else SqlOutbox(self.connection, keep_rows=self.relay_mode == RelayMode.POLLING)
        )
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        super().__exit__(exc_type, exc, traceback)
        self.connection.close()

    def commit(self) -> None:
        self.transaction.commit()

    def rollback(self) -> None:
        if self.transaction.is_active:
            self.transaction.rollback()
