"""The consumer's event stream on the real Kafka, each test on a scratch topic, dead-letter topic
and consumer group of its own: offsets the topic no longer holds stop the partition loudly, and
a dead letter counts only once Kafka acknowledged it, whatever the events topic took."""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from confluent_kafka import Consumer, KafkaException, Message, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from deploy.native import health
from subscribe_service.adapters import kafka
from subscribe_service.adapters.dead_letters import (
    HEADROOM_BYTES,
    DeadLetterNotAcknowledged,
    max_message_bytes,
    set_max_message_bytes,
)
from subscribe_service.adapters.group_offsets import Gap, accept_gaps
from subscribe_service.adapters.kafka import EventStream
from subscribe_service.adapters.progress import ProgressWatch
from subscribe_service.settings import Settings
from tests.running_stack import KAFKA, eventually, read_topic

ADMIN = AdminClient({"bootstrap.servers": KAFKA})


@pytest.fixture
def scratch() -> Iterator[Settings]:
    """Settings of a scratch events topic (one partition, the broker's defaults), its dead-letter
    topic and consumer group; all three are deleted afterwards (topics are never auto-created)."""
    name = f"scratch-{uuid.uuid4()}"
    settings = Settings(events_topic=name, dead_letter_topic=f"{name}.dlq", consumer_group=name)
    ADMIN.create_topics([NewTopic(name, num_partitions=1)])[name].result(timeout=30)
    eventually(lambda: described(name), 10, what=f"{name} to be known to the broker")
    try:
        yield settings
    finally:
        # The dead-letter topic and the group's offsets exist only if the test made them.
        for future in ADMIN.delete_topics([name, f"{name}.dlq"]).values():
            with contextlib.suppress(KafkaException):
                future.result(timeout=30)
        for future in ADMIN.delete_consumer_groups([name]).values():
            with contextlib.suppress(KafkaException):
                future.result(timeout=30)


def described(topic: str) -> bool:
    try:
        return max_message_bytes(ADMIN, topic) > 0
    except KafkaException:
        return False


def produce(topic: str, values: list[bytes], **config: object) -> None:
    producer = Producer({"bootstrap.servers": KAFKA, "message.max.bytes": 100_000_000, **config})
    for value in values:
        producer.produce(topic, value, partition=0, headers=[("id", b"1"), ("id", b"2")])
    assert producer.flush(30) == 0


def commit(settings: Settings, offset: int) -> None:
    group = Consumer({"bootstrap.servers": KAFKA, "group.id": settings.consumer_group})
    try:
        group.commit(offsets=[TopicPartition(settings.events_topic, 0, offset)], asynchronous=False)
    finally:
        group.close()


def delete_records_before(settings: Settings, offset: int) -> None:
    """What retention does to a partition: its log starts at `offset` now."""
    request = [TopicPartition(settings.events_topic, 0, offset)]
    for future in ADMIN.delete_records(request).values():
        future.result(timeout=30)


def first_messages(stream: EventStream, count: int = 1) -> list[Message]:
    """What the stream hands out, once it handed out `count` messages."""
    received: list[Message] = []

    def enough() -> bool:
        received.extend(stream.poll(timeout_s=0.5))
        return len(received) >= count

    eventually(enough, 30, what=f"{count} message(s)")
    return received


def test_an_offset_the_topic_no_longer_holds_stops_the_partition_loudly(scratch: Settings) -> None:
    produce(scratch.events_topic, [f"event {i}".encode() for i in range(10)])
    commit(scratch, 2)
    delete_records_before(scratch, 5)  # offsets 2 to 4 are gone unread

    stream = EventStream(scratch)
    try:
        read: list[Message] = []

        def stopped() -> bool:
            read.extend(stream.poll(timeout_s=0.5))
            return bool(stream.out_of_range)

        eventually(stopped, 20, what="the partition to stop on its offset")
        assert read == []  # nothing skipped in silence
        assert stream.out_of_range == {(scratch.events_topic, 0)}
    finally:
        stream.close()

    assert accept_gaps(scratch) == [Gap(scratch.events_topic, 0, 2, 5, 10)]
    stream = EventStream(scratch)
    try:
        assert first_messages(stream)[0].offset() == 5
        assert not stream.out_of_range
    finally:
        stream.close()


def test_a_consumer_stopped_on_a_lost_offset_is_not_ready_for_make_status(
    scratch: Settings,
) -> None:
    produce(scratch.events_topic, [f"event {i}".encode() for i in range(10)])
    commit(scratch, 2)
    delete_records_before(scratch, 5)
    port = free_port()
    environment = {
        **os.environ,
        "SUBSCRIBE_EVENTS_TOPIC": scratch.events_topic,
        "SUBSCRIBE_DEAD_LETTER_TOPIC": scratch.dead_letter_topic,
        "SUBSCRIBE_CONSUMER_GROUP": scratch.consumer_group,
        "SUBSCRIBE_METRICS_PORT": str(port),
    }
    consumer = subprocess.Popen(
        [sys.executable, "-m", "subscribe_service", "consumer"],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}/metrics"
        eventually(lambda: answers(url) == 503, 30, what="the consumer to answer 503")
        assert not health.http_ok(url)  # what `make status` asks of the consumer
        assert "subscribe_offsets_out_of_range 1.0" in httpx.get(url).text
    finally:
        consumer.terminate()
        consumer.wait(timeout=30)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def answers(url: str) -> int | None:
    try:
        return httpx.get(url, timeout=2).status_code
    except httpx.HTTPError:
        return None


def test_a_group_without_a_committed_offset_starts_at_the_earliest_kept(scratch: Settings) -> None:
    produce(scratch.events_topic, [f"event {i}".encode() for i in range(5)])
    delete_records_before(scratch, 3)
    stream = EventStream(scratch)
    try:
        assert [m.offset() for m in first_messages(stream, count=2)] == [3, 4]
        assert not stream.out_of_range
    finally:
        stream.close()


@pytest.mark.parametrize("dead_letter_topic", ["made by the consumer", "made before, smaller"])
def test_whatever_the_events_topic_took_is_dead_lettered_with_its_headers(
    scratch: Settings, dead_letter_topic: str
) -> None:
    if dead_letter_topic == "made before, smaller":  # as on a stack of an earlier version
        made = ADMIN.create_topics([NewTopic(scratch.dead_letter_topic, 1)])
        made[scratch.dead_letter_topic].result(timeout=30)
    events_limit = max_message_bytes(ADMIN, scratch.events_topic)
    largest = os.urandom(events_limit - 1024)  # incompressible, as large as the topic takes
    compressed = b"x" * (8 * events_limit)  # a batch of 8 MB that gzip made a few kB
    produce(scratch.events_topic, [largest])
    produce(scratch.events_topic, [compressed], **{"compression.type": "gzip"})

    stream = EventStream(scratch)
    try:
        for message in first_messages(stream, count=2):
            stream.dead_letter(message, "refused")
    finally:
        stream.close()

    assert max_message_bytes(ADMIN, scratch.dead_letter_topic) >= events_limit + HEADROOM_BYTES
    letters = read_topic(scratch.dead_letter_topic, {0: 0}, until=lambda m: m.offset() == 1)
    assert [letter.value() for letter in letters] == [largest, compressed]
    for letter, offset in zip(letters, (0, 1), strict=True):
        assert letter.headers() == [
            ("id", b"1"),
            ("id", b"2"),
            ("dlq.error", b"refused"),
            ("dlq.topic", scratch.events_topic.encode()),
            ("dlq.partition", b"0"),
            ("dlq.offset", str(offset).encode()),
        ]


def test_a_dead_letter_kafka_refuses_is_not_acknowledged(scratch: Settings) -> None:
    produce(scratch.events_topic, [os.urandom(5000)])
    stream = EventStream(scratch)
    try:
        (message,) = first_messages(stream)
        # The dead-letter topic now refuses what the events topic took, as a broker would whose
        # limit someone lowered: the dead letter must fail, not pass for sent.
        # The broker applies a topic's new config a moment after the controller took it (CI once
        # saw one more dead letter accepted): it is sent until refused, and must then raise.
        set_max_message_bytes(ADMIN, scratch.dead_letter_topic, 1024)

        def refused() -> str | None:
            try:
                stream.dead_letter(message, "refused")
            except DeadLetterNotAcknowledged as error:
                return str(error)
            return None

        error = eventually(refused, 30, what="Kafka to refuse the dead letter")
        assert re.search(r"MSG_SIZE_TOO_LARGE|too large", error), error
    finally:
        stream.close()


def test_events_waiting_behind_an_offset_that_stands_still_end_the_stream(
    scratch: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As a consumer stuck anywhere between its read and its commit: it reads on, commits
    nothing, and the events stay behind its committed offset; so the process exits."""
    monkeypatch.setattr(kafka, "PROGRESS_CHECK_S", 0.5)
    produce(scratch.events_topic, [f"event {i}".encode() for i in range(3)])
    stream = EventStream(scratch)
    try:
        first_messages(stream, count=3)
        stream.progress = ProgressWatch(limit_s=2)  # from now on, however long the read took

        def polls_on() -> bool:
            stream.poll(timeout_s=0.1)  # a loop that polls on: it is not held in a batch
            return False

        with pytest.raises(KafkaException, match="no progress for 2 s on"):
            eventually(polls_on, 30, what="the stall to end the stream")
    finally:
        stream.close()


def test_time_held_inside_a_batch_is_not_counted_toward_a_stall(
    scratch: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database's or a dead letter's retries hold the loop in a batch on purpose: the limit
    counts from when it polls again, or a consumer would exit just as its database came back."""
    monkeypatch.setattr(kafka, "PROGRESS_CHECK_S", 0.5)
    produce(scratch.events_topic, [f"event {i}".encode() for i in range(3)])
    stream = EventStream(scratch)
    try:
        first_messages(stream, count=3)
        stream.progress = ProgressWatch(limit_s=2)

        def seen_behind() -> bool:
            stream.poll(timeout_s=0.1)
            return bool(stream.progress.standing)

        eventually(seen_behind, 30, what="a check to see the partition behind")
        time.sleep(3)  # held in a batch: no poll for longer than the limit
        resumed = time.monotonic()

        def polls_on() -> bool:
            stream.poll(timeout_s=0.1)
            return False

        with pytest.raises(KafkaException, match="no progress for 2 s on"):
            eventually(polls_on, 30, what="the stall to end the stream")
        assert time.monotonic() - resumed >= 2, "the time held in the batch was counted"
    finally:
        stream.close()


def test_a_stream_behind_but_committing_what_it_reads_goes_on(
    scratch: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Events keep arriving while it reads: often behind at a check, never standing still."""
    monkeypatch.setattr(kafka, "PROGRESS_CHECK_S", 0.5)
    stream = EventStream(scratch)
    try:
        produce(scratch.events_topic, [b"first"])
        stream.commit(first_messages(stream))
        stream.progress = ProgressWatch(limit_s=2)
        producer = Producer({"bootstrap.servers": KAFKA})
        behind_at_a_check = 0
        deadline = time.monotonic() + 6  # three times the limit, checked every 0.5 s
        while time.monotonic() < deadline:
            producer.produce(scratch.events_topic, b"more", partition=0)
            producer.flush(10)
            read = stream.poll(timeout_s=0.1)  # raises if it sees a stall
            if read:
                stream.commit(read)
            behind_at_a_check += bool(stream.progress.standing)
        assert behind_at_a_check > 0, "never behind at a check: the rule was not exercised"
    finally:
        stream.close()
