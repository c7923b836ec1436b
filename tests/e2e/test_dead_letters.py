"""Poison goes to the dead-letter topic with its error and headers, and the consumer goes on."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import httpx
from confluent_kafka import Message, Producer

from subscribe_service.adapters.kafka import headers_of
from subscribe_service.settings import Settings
from tests.e2e.system import post, subscribe, wait_notified
from tests.random_refs import random_id
from tests.running_stack import KAFKA, make, read_topic, topic_end

TOPIC = Settings.model_fields["events_topic"].default
DEAD_LETTERS = Settings.model_fields["dead_letter_topic"].default
# As Producer.produce takes them.
Headers = dict[str, str | bytes | None]


def payload(author_id: int, **changes: object) -> bytes:
    body = {
        "post_id": random_id(),
        "author_id": author_id,
        "title": "poison",
        "created_at": datetime.now(UTC).isoformat(),
    }
    return json.dumps({**body, **changes}).encode()


def poison(author_id: int, marker: str) -> list[tuple[bytes, Headers, str]]:
    """(value, headers, the error it must be dead-lettered with) for each kind of poison."""
    good_headers: Headers = {"eventType": b"PostCreated", "marker": marker.encode()}
    return [
        (b"not json at all", {"id": str(uuid.uuid4()).encode(), **good_headers}, "not JSON"),
        (payload(author_id, post_id=None), {"id": str(uuid.uuid4()).encode(), **good_headers},
         "positive integer"),
        (json.dumps({"author_id": author_id}).encode(), {"id": str(uuid.uuid4()).encode(),
         **good_headers}, "no field"),
        (payload(author_id), {"id": str(uuid.uuid4()).encode(), "eventType": b"PostMoved",
         "marker": marker.encode()}, "unknown event type"),
        (payload(author_id, title="x" * 900_000), {"id": str(uuid.uuid4()).encode(),
         **good_headers}, "title"),
    ]  # fmt: skip


def test_poison_goes_to_the_dead_letter_topic_and_good_events_after_it_are_applied(
    posts: httpx.Client, subscriptions: httpx.Client
) -> None:
    author, subscriber, marker = random_id(), random_id(), str(uuid.uuid4())
    subscribe(subscriptions, subscriber, author)
    cases = poison(author, marker)
    start = topic_end(DEAD_LETTERS)
    producer = Producer({"bootstrap.servers": KAFKA, "message.max.bytes": 1_000_000})
    for value, headers, _ in cases:
        # The post's key, so the poison sits in the same partition as the good event after it.
        producer.produce(TOPIC, value, key=str(author).encode(), headers=headers)
    assert producer.flush(10) == 0

    after = post(posts, author, "after the poison")
    wait_notified(subscriptions, subscriber, {after["event_id"]})

    def marked(message: Message) -> bool:
        return headers_of(message).get("marker") == marker.encode()

    letters = [
        m
        for m in read_topic(
            DEAD_LETTERS, start, until=lambda m: marked(m) and m.value() == cases[-1][0]
        )
        if marked(m)
    ]
    assert len(letters) == len(cases)
    for (value, headers, reason), letter in zip(cases, letters, strict=True):
        got = headers_of(letter)
        assert letter.value() == value
        assert got["id"] == headers["id"]
        assert reason in got["dlq.error"].decode()
        assert got["dlq.topic"] == TOPIC.encode()


def test_make_dlq_shows_the_dead_letters_with_their_error() -> None:
    assert "dlq.error" in make("dlq")
