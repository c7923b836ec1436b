"""The events topic's partitions as the cluster reports them: the node leading each, and the
nodes whose copies are in sync."""

from __future__ import annotations

from confluent_kafka.admin import AdminClient, PartitionMetadata

from contract.events import EVENTS_TOPIC
from deploy.cluster.topology import BOOTSTRAP_SERVERS


def events_partitions(timeout_s: float = 10.0) -> dict[int, PartitionMetadata]:
    """By partition number; raises KafkaException when no broker answers in time."""
    admin = AdminClient({"bootstrap.servers": BOOTSTRAP_SERVERS, "log_level": 0})
    topic = admin.list_topics(EVENTS_TOPIC, timeout=timeout_s).topics[EVENTS_TOPIC]
    partitions: dict[int, PartitionMetadata] = topic.partitions
    return partitions
