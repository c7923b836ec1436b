"""The post and its outbox event are one transaction, on the real database and Kafka."""

from __future__ import annotations

from typing import ClassVar

import pytest
from sqlalchemy import Engine, func, select

from post_service.adapters.repository import SqlOutbox, SqlUnitOfWork
from post_service.adapters.tables import post_event_outbox, posts
from post_service.domain.posts import NewPost, PostCreated
from post_service.service.posts import create_post
from subscribe_service.settings import Settings
from tests.random_refs import random_id, random_title
from tests.running_stack import read_topic, topic_end

TOPIC = Settings.model_fields["events_topic"].default


class OutboxThatFailsAfterWriting(SqlOutbox):
    """Writes the event, then fails as a lost connection would, before the commit."""

    attempted: ClassVar[list[PostCreated]] = []

    def append(self, event: PostCreated) -> None:
        super().append(event)
        self.attempted.append(event)
        raise ConnectionError("lost the database after writing the outbox row")


class FailingUnitOfWork(SqlUnitOfWork):
    def __enter__(self) -> FailingUnitOfWork:
        super().__enter__()
        self.outbox = OutboxThatFailsAfterWriting(self.connection, keep_rows=False)
        return self


def test_a_post_whose_transaction_fails_leaves_no_post_no_outbox_row_and_no_event(
    post_engine: Engine,
) -> None:
    title = random_title("doomed")
    start = topic_end(TOPIC)
    with pytest.raises(ConnectionError):
        create_post(lambda: FailingUnitOfWork(post_engine), NewPost(random_id(), title, "x"))
    (doomed,) = OutboxThatFailsAfterWriting.attempted

    with post_engine.connect() as connection:
        assert connection.scalar(select(func.count()).where(posts.c.title == title)) == 0
        outbox_rows = select(func.count()).where(post_event_outbox.c.id == str(doomed.event_id))
        assert connection.scalar(outbox_rows) == 0

    # A post committed after it reaches Kafka; by then the doomed one would have too.
    survivor = create_post(
        lambda: SqlUnitOfWork(post_engine), NewPost(random_id(), random_title("survivor"), "y")
    )
    survivor_key = str(survivor.post_id).encode()
    keys = {m.key() for m in read_topic(TOPIC, start, until=lambda m: m.key() == survivor_key)}
    assert str(survivor.post_id).encode() in keys
    assert str(doomed.post_id).encode() not in keys


def test_in_cdc_mode_the_outbox_row_is_deleted_in_the_transaction_that_wrote_it(
    post_engine: Engine,
) -> None:
    event = create_post(lambda: SqlUnitOfWork(post_engine), NewPost(random_id(), "t", "c"))
    with post_engine.connect() as connection:
        row = select(func.count()).where(post_event_outbox.c.id == str(event.event_id))
        assert connection.scalar(row) == 0
        assert connection.scalar(select(posts.c.title).where(posts.c.post_id == event.post_id))
