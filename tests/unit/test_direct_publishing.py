"""Direct mode (the tutorial's V1) loses events while Kafka is down; each loss is counted, on a
shutdown too, and none turns into an error for a post that is already stored."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from prometheus_client import REGISTRY

from contract.events import PostCreated
from post_service.adapters.kafka import EventPublisher


def lost_so_far() -> float:
    return REGISTRY.get_sample_value("post_events_lost_total") or 0.0


def an_event() -> PostCreated:
    return PostCreated(uuid4(), 1, 1, "lost", datetime.now(UTC))


def test_events_still_queued_at_shutdown_are_counted_lost() -> None:
    # Nothing listens on port 1: the events wait in the queue until close().
    publisher = EventPublisher("127.0.0.1:1", "nowhere", message_timeout_ms=60_000)
    before = lost_so_far()
    publisher.publish_and_forget(an_event())
    publisher.publish_and_forget(an_event())

    publisher.close(timeout_s=0.2)

    assert lost_so_far() == before + 2


def test_a_message_the_producer_refuses_is_a_counted_loss_not_an_error() -> None:
    publisher = EventPublisher("127.0.0.1:1", "nowhere", message_timeout_ms=60_000)
    publisher.producer = type(publisher.producer)(
        {"bootstrap.servers": "127.0.0.1:1", "queue.buffering.max.messages": 1}
    )
    before = lost_so_far()
    publisher.publish_and_forget(an_event())
    publisher.publish_and_forget(an_event())  # the queue is full: BufferError

    assert lost_so_far() == before + 1
    publisher.close(timeout_s=0.1)
    assert lost_so_far() == before + 2


def test_an_event_that_cannot_be_sent_for_any_reason_is_a_counted_loss_not_an_error() -> None:
    # A lone surrogate is a str that orjson will not encode: a TypeError, not a Kafka error,
    # standing for any error before the producer (the API refuses such a title; a bug need not).
    # The post is stored whatever happens here, and so are the others of its group commit.
    publisher = EventPublisher("127.0.0.1:1", "nowhere", message_timeout_ms=60_000)
    before = lost_so_far()
    unencodable = PostCreated(uuid4(), 1, 1, "\ud800", datetime.now(UTC))

    publisher.publish_and_forget(unencodable)

    assert lost_so_far() == before + 1
    publisher.close(timeout_s=0.1)
