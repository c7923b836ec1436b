"""The post and its outbox event are one transaction, on the real database and Kafka."""

from __future__ import annotations

import uuid
from typing import ClassVar

import pytest
from confluent_kafka import Consumer, Message, TopicPartition
from sqlalchemy import Engine, func, select

from post_service.adapters.repository import SqlOutbox, SqlUnitOfWork
from post_service.adapters.tables import post_event_outbox, posts
from post_service.domain.posts import NewPost, PostCreated
from post_service.service.posts import create_post
from subscribe_service.settings import Settings
from tests.random_refs import random_id, random_title
from tests.running_stack import KAFKA, eventually

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
        self.outbox = OutboxThatFailsAfterWriting(self.connection)
        return self


def read_topic_until_seen(key: str) -> list[Message]:
    """Every message of the topic, from the start up to the end it had once `key` was seen."""
    consumer = Consumer(
        {
            "bootstrap.servers": KAFKA,
            "group.id": f"test-{uuid.uuid4()}",
            "enable.auto.commit": False,
        }
    )
    partitions = consumer.list_topics(TOPIC, timeout=10).topics[TOPIC].partitions
    consumer.assign([TopicPartition(TOPIC, p, 0) for p in partitions])
    messages: list[Message] = []
    try:

        def seen() -> bool:
            batch = consumer.consume(500, timeout=0.5)
            messages.extend(m for m in batch if m.error() is None)
            return any(m.key() == key.encode() for m in messages)

        eventually(seen, timeout_s=30, what=f"event of post {key} on {TOPIC}")
        ends = {p: consumer.get_watermark_offsets(TopicPartition(TOPIC, p))[1] for p in partitions}

        def read_to_end() -> bool:
            messages.extend(m for m in consumer.consume(500, timeout=0.5) if m.error() is None)
            read = {p: 0 for p in partitions}
            for m in messages:
                read[m.partition()] = max(read[m.partition()], (m.offset() or 0) + 1)
            return all(read[p] >= end for p, end in ends.items())

        eventually(read_to_end, timeout_s=30, what="reading the topic to its end")
    finally:
        consumer.close()
    return messages


def test_a_post_whose_transaction_fails_leaves_no_post_no_outbox_row_and_no_event(
    post_engine: Engine,
) -> None:
    title = random_title("doomed")
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
    keys = {m.key() for m in read_topic_until_seen(str(survivor.post_id))}
    assert str(survivor.post_id).encode() in keys
    assert str(doomed.post_id).encode() not in keys


def test_the_outbox_table_stays_empty_because_each_row_is_deleted_in_its_transaction(
    post_engine: Engine,
) -> None:
    event = create_post(lambda: SqlUnitOfWork(post_engine), NewPost(random_id(), "t", "c"))
    with post_engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(post_event_outbox)) == 0
        assert connection.scalar(select(posts.c.title).where(posts.c.post_id == event.post_id))
