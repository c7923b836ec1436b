"""The dead-letter topic: a message the consumer can never apply goes there with its error and its
original headers, and counts as sent only once Kafka acknowledged it."""

from __future__ import annotations

import logging
from typing import Final

import structlog
from confluent_kafka import KafkaError, KafkaException, Message, Producer
from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource
from confluent_kafka.cimpl import NewTopic

from chassis.kafka_headers import HeaderPairs, header_pairs
from subscribe_service.settings import Settings

log = structlog.get_logger()
CLIENT_LOG = logging.getLogger("librdkafka")

ERROR_MAX_CHARS: Final = 1000
# What a dead letter adds to the message it carries: its dlq.* headers, the error at most
# ERROR_MAX_CHARS characters of up to 4 bytes. The topic takes that much more than the events topic.
HEADROOM_BYTES: Final = 16 * 1024
# librdkafka checks a message's size before compression, the broker the compressed batch against
# the topic's max.message.bytes: a message compressed on the events topic may be far larger.
PRODUCER_MESSAGE_MAX_BYTES: Final = 1_000_000_000  # librdkafka's largest
# Kafka answers within the delivery timeout, acknowledged or failed; flush waits a little longer.
DELIVERY_TIMEOUT_S: Final = 30


class DeadLetterNotAcknowledged(Exception):
    """Kafka did not take the dead letter: the message's offset must not be committed."""


class DeadLetters:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.producer = Producer(
            {
                "bootstrap.servers": settings.kafka_bootstrap_servers,
                "enable.idempotence": True,
                "acks": "all",
                "message.max.bytes": PRODUCER_MESSAGE_MAX_BYTES,
                "compression.type": "zstd",
                "message.timeout.ms": DELIVERY_TIMEOUT_S * 1000,
                "reconnect.backoff.max.ms": 1000,
                "logger": CLIENT_LOG,
            }
        )
        self.topic_ready = False
        try:  # at once, so that `make dlq` finds it; if Kafka is down, on the first dead letter
            self.ensure_topic()
        except KafkaException as error:
            log.warning("dead-letter topic not ready yet", error=str(error))

    def send(self, message: Message, error: str) -> None:
        """Returns once Kafka acknowledged the dead letter; raises DeadLetterNotAcknowledged if it
        refused it or did not answer."""
        self.ensure_topic()
        answers: list[KafkaError | None] = []
        self.producer.produce(
            self.settings.dead_letter_topic,
            message.value(),
            message.key(),
            headers=headers(message, error),
            on_delivery=lambda failure, _: answers.append(failure),
        )
        self.producer.flush(DELIVERY_TIMEOUT_S + 5)
        if not answers:
            raise DeadLetterNotAcknowledged(f"no answer from Kafka within {DELIVERY_TIMEOUT_S}s")
        if answers[0] is not None:
            raise DeadLetterNotAcknowledged(f"Kafka refused the dead letter: {answers[0]}")

    def ensure_topic(self) -> None:
        """Topics are never created by accident (auto-creation is off): this one is created, or its
        size limit raised, so that it takes whatever the events topic takes, with the headroom."""
        if self.topic_ready:
            return
        admin = AdminClient({"bootstrap.servers": self.settings.kafka_bootstrap_servers})
        wanted = max_message_bytes(admin, self.settings.events_topic) + HEADROOM_BYTES
        topic = NewTopic(
            self.settings.dead_letter_topic,
            num_partitions=1,
            config={"max.message.bytes": str(wanted)},
        )
        try:
            admin.create_topics([topic], request_timeout=10)[topic.topic].result(timeout=15)
        except KafkaException as error:
            if error.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise
            if max_message_bytes(admin, topic.topic) < wanted:
                set_max_message_bytes(admin, topic.topic, wanted)
        self.topic_ready = True

    def poll(self) -> None:
        """Hands librdkafka's log lines over as they come, not all at the next dead letter."""
        self.producer.poll(0)

    def close(self) -> None:
        self.producer.flush(10)


def headers(message: Message, error: str) -> HeaderPairs:
    """The original headers as they were, duplicates and order kept, then where it came from."""
    return [
        *header_pairs(message),
        ("dlq.error", error[:ERROR_MAX_CHARS].encode("utf-8", errors="backslashreplace")),
        ("dlq.topic", (message.topic() or "").encode()),
        ("dlq.partition", str(message.partition()).encode()),
        ("dlq.offset", str(message.offset()).encode()),
    ]


def max_message_bytes(admin: AdminClient, topic: str) -> int:
    """The largest record batch the topic takes: its own setting, or the broker's default."""
    resource = ConfigResource(ConfigResource.Type.TOPIC, topic)
    configs = admin.describe_configs([resource], request_timeout=10)[resource].result(timeout=15)
    return int(configs["max.message.bytes"].value)


def set_max_message_bytes(admin: AdminClient, topic: str, limit: int) -> None:
    entry = ConfigEntry(
        "max.message.bytes", str(limit), incremental_operation=AlterConfigOpType.SET
    )
    resource = ConfigResource(ConfigResource.Type.TOPIC, topic, incremental_configs=[entry])
    admin.incremental_alter_configs([resource])[resource].result(timeout=15)
    log.info("dead-letter topic takes larger messages now", topic=topic, max_message_bytes=limit)
