"""The post events topic as the consumer sees it: batches in, offsets out, poison aside."""

from __future__ import annotations

from collections.abc import Sequence

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

from subscribe_service.settings import Settings


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
                "partition.assignment.strategy": "cooperative-sticky",
            }
        )
        self.dead_letters = Producer(
            {
                "bootstrap.servers": settings.kafka_bootstrap_servers,
                "enable.idempotence": True,
                "acks": "all",
            }
        )
        self.consumer.subscribe([settings.events_topic])

    def poll(self, timeout_s: float) -> list[Message]:
        messages = self.consumer.consume(self.settings.batch_size, timeout=timeout_s)
        for message in messages:
            error = message.error()
            if error is not None and error.code() != KafkaError._PARTITION_EOF:
                raise KafkaException(error)
        return [m for m in messages if m.error() is None]

    def commit(self, messages: Sequence[Message]) -> None:
        """Commits, per partition, the offset after the last message of the batch."""
        last: dict[tuple[str, int], int] = {}
        for message in messages:
            topic, partition, offset = position(message)
            last[(topic, partition)] = offset
        offsets = [TopicPartition(t, p, offset + 1) for (t, p), offset in last.items()]
        self.consumer.commit(offsets=offsets, asynchronous=False)

    def dead_letter(self, message: Message, error: Exception) -> None:
        """Sends a message that can never be applied aside, with its error and original headers."""
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

    def close(self) -> None:
        self.consumer.close()
        self.dead_letters.flush(10)


def rewind_to_earliest(settings: Settings) -> list[TopicPartition]:
    """Moves the consumer group back to the start of the topic. The group must have no members."""
    probe = Consumer({"bootstrap.servers": settings.kafka_bootstrap_servers, "group.id": "rewind"})
    try:
        metadata = probe.list_topics(settings.events_topic, timeout=10)
        partitions = metadata.topics[settings.events_topic].partitions
        earliest = [
            TopicPartition(
                settings.events_topic,
                p,
                probe.get_watermark_offsets(TopicPartition(settings.events_topic, p), timeout=10)[
                    0
                ],
            )
            for p in partitions
        ]
    finally:
        probe.close()
    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap_servers})
    request = ConsumerGroupTopicPartitions(settings.consumer_group, earliest)
    for future in admin.alter_consumer_group_offsets([request]).values():
        future.result()
    return earliest
