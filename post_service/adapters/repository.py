"""SQL implementations of the post service's ports, on one connection in one transaction."""

from __future__ import annotations

from datetime import UTC
from types import TracebackType

from sqlalchemy import Connection, Engine, RootTransaction, delete, insert, select

from post_service.adapters.tables import post_event_outbox, posts
from post_service.domain.posts import AGGREGATE_TYPE, POST_CREATED, NewPost, Post, PostCreated, now
from post_service.service.ports import Outbox, PostRepository, UnitOfWork
from post_service.settings import RelayMode


class SqlPostRepository(PostRepository):
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(self, new_post: NewPost) -> Post:
        created_at = now()
        result = self.connection.execute(
            insert(posts).values(
                author_id=new_post.author_id,
                title=new_post.title,
                content=new_post.content,
                created_at=created_at.replace(tzinfo=None),
            )
        )
        (post_id,) = result.inserted_primary_key or (None,)
        assert isinstance(post_id, int)
        return Post(post_id, new_post.author_id, new_post.title, new_post.content, created_at)

    def get(self, post_id: int) -> Post | None:
        row = self.connection.execute(select(posts).where(posts.c.post_id == post_id)).first()
        if row is None:
            return None
        return Post(
            row.post_id, row.author_id, row.title, row.content, row.created_at.replace(tzinfo=UTC)
        )


class SqlOutbox(Outbox):
    """Inserts the event's row. In `cdc` mode it deletes the row again in the same transaction:
    Debezium reads the insert from the binlog. In `polling` mode the relay publishes it later."""

    def __init__(self, connection: Connection, keep_rows: bool) -> None:
        self.connection = connection
        self.keep_rows = keep_rows

    def append(self, event: PostCreated) -> None:
        event_id = str(event.event_id)
        self.connection.execute(
            insert(post_event_outbox).values(
                id=event_id,
                aggregatetype=AGGREGATE_TYPE,
                aggregateid=event.aggregate_id,
                type=POST_CREATED,
                payload=event.payload(),
                created_at=event.created_at.replace(tzinfo=None),
            )
        )
        if not self.keep_rows:
            self.connection.execute(
                delete(post_event_outbox).where(post_event_outbox.c.id == event_id)
            )


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
