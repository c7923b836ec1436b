"""The post events topic as the consumer sees it: batches in, offsets out, poison aside."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import structlog
from confluent_kafka import (
    Consumer,
    ConsumerGroupTopicPartitions,
    KafkaError,
    KafkaException,
    Message,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic
from tenacity import Retrying, retry_if_exception, stop_after_delay, wait_exponential

from subscribe_service.settings import Settings

log = structlog.get_logger()
# librdkafka's own lines (a broker gone, say) go through logging, as JSON like the rest; the
# clients hand them over in poll(), consume() and flush().
CLIENT_LOG = logging.getLogger("librdkafka")


# The coordinator moving or restarting is transient, whatever librdkafka's retriable flag says.
_COORDINATOR_MOVING = {
    KafkaError.NOT_COORDINATOR,
    KafkaError.COORDINATOR_NOT_AVAILABLE,
    KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
    KafkaError.REQUEST_TIMED_OUT,
    KafkaError._TIMED_OUT,
    KafkaError._TRANSPORT,
}


def _retriable(error: BaseException) -> bool:
    if not isinstance(error, KafkaException):
        return False
    kafka_error: KafkaError = error.args[0]
    return kafka_error.retriable() or kafka_error.code() in _COORDINATOR_MOVING


def headers_of(message: Message) -> dict[str, bytes]:
    raw = message.headers() or []
    pairs = raw.items() if isinstance(raw, dict) else raw
    return {key: value.encode() if isinstance(value, str) else value or b"" for key, value in pairs}


def position(message: Message) -> tuple[str, int, int]:
    """Topic, partition and offset: always set on a message that came from a topic."""
    topic, partition, offset = message.topic(), message.partition(), message.offset()
    if topic is None or partition is None or offset is None:
        raise ValueError("a message without a topic position")
    return topic, partition, offset


class EventStream:
    """Reads with auto commit off: the caller commits a batch's offsets after its DB commit."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.consumer = Consumer(
            {
                "bootstrap.servers": settings.kafka_bootstrap_servers,
                "group.id": settings.consumer_group,
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                # The consumer group protocol of KIP-848: the broker assigns partitions on
                # heartbeats. After a Kafka restart the consumer gets them back at once, where
                # the classic protocol waits out a whole session timeout first.
                "group.protocol": "consumer",
                # After an outage, be back within a second: the default backoff grows to 10 s.
                "reconnect.backoff.max.ms": 1000,
                "logger": CLIENT_LOG,
            }
        )
        self.dead_letters = Producer(
            {
                "bootstrap.servers": settings.kafka_bootstrap_servers,
                "enable.idempotence": True,
                "acks": "all",
                "reconnect.backoff.max.ms": 1000,
                "logger": CLIENT_LOG,
            }
        )
        self.dead_letter_topic_exists = False
        try:  # at once, so that `make dlq` finds it; if Kafka is down, on the first dead letter
            self.ensure_dead_letter_topic()
        except KafkaException as error:
            log.warning("dead-letter topic not created yet", error=str(error))
        self.consumer.subscribe([settings.events_topic])

    def poll(self, timeout_s: float) -> list[Message]:
        """Waits up to timeout_s for a message, then takes those already fetched with it, up to
        a batch: consume(n, timeout) alone would wait for n messages, up to the whole timeout,
        and hold every event of a quiet moment back that long."""
        self.dead_letters.poll(0)  # its log lines as they come, not all at the next dead letter
        first = self.consumer.poll(timeout_s)
        if first is None:
            return []
        messages = [first, *self.consumer.consume(self.settings.batch_size - 1, timeout=0)]
        for message in messages:
            error = message.error()
            if error is None or error.code() == KafkaError._PARTITION_EOF:
                continue
            if error.fatal() or error.code() == KafkaError._FATAL:
                raise KafkaException(error)  # the process exits; its supervisor starts it anew
            log.warning("kafka consumer error; it recovers by itself", error=str(error))
        return [m for m in messages if m.error() is None]

    def commit(self, messages: Sequence[Message]) -> None:
        """Commits, per partition, the offset after the last message of the batch."""
        last: dict[tuple[str, int], int] = {}
        for message in messages:
            topic, partition, offset = position(message)
            last[(topic, partition)] = offset
        offsets = [TopicPartition(t, p, offset + 1) for (t, p), offset in last.items()]
        retrying = Retrying(
            retry=retry_if_exception(_retriable),
            wait=wait_exponential(multiplier=0.1, max=2),
            stop=stop_after_delay(30),
            reraise=True,
        )
        try:
            retrying(self.consumer.commit, offsets=offsets, asynchronous=False)
        except KafkaException as error:
            if error.args[0].fatal():
                raise
            # The group moved on (a rebalance): whoever owns the partitions now reads these
            # messages again, and the inbox turns them into no-ops.
            log.warning("offsets not committed; the batch will be redelivered", error=str(error))

    def dead_letter(self, message: Message, error: Exception) -> None:
        """Sends a message that can never be applied aside, with its error and original headers."""
        self.ensure_dead_letter_topic()
        topic, partition, offset = position(message)
        headers: dict[str, str | bytes | None] = {
            **headers_of(message),
            "dlq.error": str(error).encode(),
            "dlq.topic": topic.encode(),
            "dlq.partition": str(partition).encode(),
            "dlq.offset": str(offset).encode(),
        }
        self.dead_letters.produce(
            self.settings.dead_letter_topic, message.value(), message.key(), headers=headers
        )
        if self.dead_letters.flush(30) > 0:
            raise KafkaException("a dead letter was not acknowledged within 30s")

    def lag(self) -> int:
        """Messages of this consumer's partitions not read yet, from the last fetch's watermarks."""
        partitions = self.consumer.assignment()
        behind = 0
        for reading in self.consumer.position(partitions):
            _, high = self.consumer.get_watermark_offsets(reading, cached=True)
            if high >= 0 and reading.offset >= 0:
                behind += high - reading.offset
        return behind

    def ensure_dead_letter_topic(self) -> None:
        """Topics are never created by accident (auto-creation is off): this one is created at
        the consumer's start, or on the first dead letter if Kafka was down then."""
        if self.dead_letter_topic_exists:
            return
        admin = AdminClient({"bootstrap.servers": self.settings.kafka_bootstrap_servers})
        topic = NewTopic(self.settings.dead_letter_topic, num_partitions=1)
        try:
            admin.create_topics([topic], request_timeout=10)[topic.topic].result(timeout=15)
        except KafkaException as error:
            if error.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise
        self.dead_letter_topic_exists = True

    def close(self) -> None:
        self.consumer.close()
        self.dead_letters.flush(10)


def rewind_to_earliest(settings: Settings) -> list[TopicPartition]:
    """Moves the consumer group back to the start of the topic. The group must have no members."""
    topic = settings.events_topic
    probe = Consumer({"bootstrap.servers": settings.kafka_bootstrap_servers, "group.id": "rewind"})
    earliest = []
    try:
        for partition in probe.list_topics(topic, timeout=10).topics[topic].partitions:
            low, _ = probe.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
            earliest.append(TopicPartition(topic, partition, low))
    finally:
        probe.close()
    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap_servers})
    request = ConsumerGroupTopicPartitions(settings.consumer_group, earliest)
    for future in admin.alter_consumer_group_offsets([request]).values():
        future.result()
    return earliest
