"""The consumer group's committed offsets, moved by an operator while no consumer runs: `make
replay` rewinds them to the start of the topic, `make accept-gap` moves those the topic no longer
holds to the earliest offset it keeps."""

from __future__ import annotations

from dataclasses import dataclass

from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import AdminClient

from subscribe_service.settings import Settings


@dataclass(frozen=True)
class Gap:
    """A partition whose committed offset lies outside what the topic keeps, [earliest, end]."""

    topic: str
    partition: int
    committed: int
    earliest: int
    end: int

    def __str__(self) -> str:
        where = f"{self.topic}[{self.partition}]"
        if self.committed < self.earliest:
            return (
                f"{where}: offsets {self.committed} to {self.earliest - 1} were deleted unread "
                f"({self.earliest - self.committed} messages); moved to {self.earliest}"
            )
        return (
            f"{where}: committed offset {self.committed} lies past the end, {self.end} "
            f"(was the topic made anew?); moved to {self.earliest}"
        )


def rewind_to_earliest(settings: Settings) -> list[TopicPartition]:
    """Moves the consumer group back to the start of the topic. The group must have no members."""
    earliest = [
        TopicPartition(settings.events_topic, partition, low)
        for partition, (low, _) in watermarks(settings).items()
    ]
    move(settings, earliest)
    return earliest


def accept_gaps(settings: Settings) -> list[Gap]:
    """Moves each committed offset the topic no longer holds to the earliest it keeps, and says
    what was skipped. The group must have no members."""
    topic, kept = settings.events_topic, watermarks(settings)
    committed = committed_offsets(settings, list(kept))
    gaps = [
        Gap(topic, partition, committed[partition], low, high)
        for partition, (low, high) in kept.items()
        if committed.get(partition, -1) >= 0 and not low <= committed[partition] <= high
    ]
    move(settings, [TopicPartition(topic, gap.partition, gap.earliest) for gap in gaps])
    return gaps


def watermarks(settings: Settings) -> dict[int, tuple[int, int]]:
    """Each partition's earliest offset kept and its end."""
    topic = settings.events_topic
    probe = Consumer({"bootstrap.servers": settings.kafka_bootstrap_servers, "group.id": "rewind"})
    try:
        partitions = probe.list_topics(topic, timeout=10).topics[topic].partitions
        return {
            p: probe.get_watermark_offsets(TopicPartition(topic, p), timeout=10) for p in partitions
        }
    finally:
        probe.close()


# An answer Kafka has not given by then will not come: a broker away fails the command.
ADMIN_TIMEOUT_S = 30.0


def committed_offsets(
    settings: Settings, partitions: list[int], timeout_s: float = ADMIN_TIMEOUT_S
) -> dict[int, int]:
    """Each partition's committed offset; negative where the group has none."""
    topic, group = settings.events_topic, settings.consumer_group
    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap_servers})
    request = ConsumerGroupTopicPartitions(group, [TopicPartition(topic, p) for p in partitions])
    answer = admin.list_consumer_group_offsets([request], request_timeout=timeout_s)[group]
    stored = answer.result(timeout=timeout_s).topic_partitions
    return {tp.partition: tp.offset for tp in stored}


def move(settings: Settings, offsets: list[TopicPartition]) -> None:
    if not offsets:
        return
    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap_servers})
    request = ConsumerGroupTopicPartitions(settings.consumer_group, offsets)
    answers = admin.alter_consumer_group_offsets([request], request_timeout=ADMIN_TIMEOUT_S)
    for answer in answers.values():
        answer.result(timeout=ADMIN_TIMEOUT_S)
