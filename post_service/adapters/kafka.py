"""Publishing PostEvent to Kafka from the post service (relay modes `polling` and `direct`).

The message is the one Debezium's Event Router writes in `cdc` mode, so that switching modes
changes nothing downstream: the topic, the aggregate id as key, the event id in the `id` header,
the event type in `eventType`, and the JSON payload as the value.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

import orjson
import structlog
from confluent_kafka import KafkaError, KafkaException, Message, Producer
from prometheus_client import Counter

from contract.events import EVENT_ID_HEADER, EVENT_TYPE_HEADER, PostEvent
from post_service.service.ports import Publisher

log = structlog.get_logger()
# librdkafka's own lines (a broker gone, say) go through logging, as JSON like the rest; the
# producer hands them over in poll() and flush().
CLIENT_LOG = logging.getLogger("librdkafka")
LOST = Counter("post_events_lost_total", "Events `direct` mode could not deliver: gone for good")


class EventPublisher(Publisher):
    def __init__(self, bootstrap_servers: str, topic: str, message_timeout_ms: int) -> None:
        self.topic = topic
        self.producer = Producer(
            {
                "bootstrap.servers": bootstrap_servers,
                # Each event at most once per send, in order per partition, acknowledged by all
                # in-sync replicas.
                "enable.idempotence": True,
                "acks": "all",
                "linger.ms": 5,
                "message.timeout.ms": message_timeout_ms,
                "reconnect.backoff.max.ms": 1000,
                "logger": CLIENT_LOG,
            }
        )

    def send(
        self, event: PostEvent, on_delivery: Callable[[KafkaError | None, Message], None]
    ) -> None:
        self.produce(event, on_delivery)
        self.producer.poll(0)

    def produce(
        self, event: PostEvent, on_delivery: Callable[[KafkaError | None, Message], None]
    ) -> None:
        """Hands the event to the producer's queue; raises if it cannot (full, refused, not
        encodable)."""
        self.producer.produce(
            self.topic,
            value=orjson.dumps(event.payload()),
            key=event.aggregate_id.encode(),
            headers={
                EVENT_ID_HEADER: str(event.event_id).encode(),
                EVENT_TYPE_HEADER: event.event_type.encode(),
            },
            on_delivery=on_delivery,
        )

    def publish(self, events: Sequence[PostEvent], timeout_s: float) -> set[str]:
        """Sends the events and waits for Kafka's answers; returns the ids it acknowledged."""
        acknowledged: set[str] = set()

        def acknowledge(event_id: str) -> Callable[[KafkaError | None, Message], None]:
            def delivered(error: KafkaError | None, message: Message) -> None:
                if error is None:
                    acknowledged.add(event_id)

            return delivered

        for event in events:
            self.send(event, acknowledge(str(event.event_id)))
        self.producer.flush(timeout_s)
        return acknowledged

    def publish_and_forget(self, event: PostEvent) -> None:
        """`direct` mode: sends without waiting; a failure is only logged. This is the loss.
        The post is stored whatever happens here: a full queue, a refused message or an event
        that cannot be encoded is a lost event, counted like any other, never an error for the
        request (nor, with group commit, for the other posts of its transaction)."""

        def delivered(error: KafkaError | None, message: Message) -> None:
            if error is not None:
                lost(event, str(error))

        try:
            self.produce(event, delivered)
        except (BufferError, KafkaException) as error:  # a full queue, a refused message
            lost(event, str(error))
        except Exception as error:  # anything else (a bug, say): lost too, with its traceback
            lost(event, f"{type(error).__name__}: {error}", exc_info=True)
        self.producer.poll(0)  # other events' answers, outside the try: they are not this one's

    def serve_deliveries(self) -> None:
        """`direct` mode: Kafka's answers are handed over as they come, on a thread of their own.
        Nobody waits for them, and a loss would otherwise show only at the next send."""

        def serve() -> None:
            while True:
                self.producer.poll(1.0)

        threading.Thread(target=serve, name="kafka-deliveries", daemon=True).start()

    def close(self, timeout_s: float = 10) -> None:
        """Waits up to timeout_s for what is queued; what is still queued then is purged, and
        its delivery callbacks say so (in `direct` mode: each one a lost event, counted)."""
        if self.producer.flush(timeout_s) > 0:
            self.producer.purge()
            self.producer.flush(0)


def lost(event: PostEvent, error: str, exc_info: bool = False) -> None:
    LOST.inc()
    log.error("event lost", event_id=str(event.event_id), error=error, exc_info=exc_info)
