"""On SIGTERM each process exits within seconds (supervisord would SIGKILL it after 15 s), and the
consumer first finishes the batch it holds: what it applied is committed, what it committed is
applied, and started again it applies the rest, nothing twice."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import httpx
import pytest
from confluent_kafka import ConsumerGroupTopicPartitions, Message, TopicPartition
from confluent_kafka.admin import AdminClient

from deploy.native.layout import Layout
from subscribe_service.adapters.kafka import headers_of
from subscribe_service.domain.events import decode
from subscribe_service.settings import Settings
from tests.e2e.system import notifications, post, subscribe, wait_notified
from tests.random_refs import random_id
from tests.running_stack import KAFKA, make, read_topic, topic_end

# From SIGTERM to the exit, as supervisord saw them: well before its SIGKILL (stopwaitsecs).
WITHIN_S = 8.0
TOPIC = Settings.model_fields["events_topic"].default
GROUP = Settings.model_fields["consumer_group"].default
MOST_POSTS = 500  # bounds the posting while the consumer stops, so every one fits in one page


def stop(part: str) -> float:
    """Stops the part with `make stop-<part>`; returns how long the process took to exit after
    supervisord's SIGTERM, from supervisord's log (Make's and supervisorctl's own start-up, which
    a busy machine stretches, are not the part's). Fails if supervisord had to
    SIGKILL it."""
    log = Layout.from_env().logs / "supervisord.log"
    before = len(log.read_text().splitlines())
    make(f"stop-{part}")
    lines = log.read_text().splitlines()[before:]
    stopped = next(line for line in lines if f"stopped: {part} (" in line)
    # uvicorn, once shut down, raises the SIGTERM it caught again: that is its clean exit.
    assert stopped.endswith(("(exit status 0)", "(terminated by SIGTERM)")), stopped
    # supervisord reports "waiting for" at its first look after the signal, unless it is gone.
    asked = [line for line in lines if f"waiting for {part} to stop" in line]
    return (logged_at(stopped) - logged_at(asked[0])).total_seconds() if asked else 0.0


def logged_at(line: str) -> datetime:
    """The time of a supervisord log line: `2026-12-02 10:49:34,016 INFO ...`."""
    return datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f")


def committed_offsets() -> dict[int, int]:
    """Each partition's next offset to read for the consumer group, as stored in Kafka."""
    admin = AdminClient({"bootstrap.servers": KAFKA})
    partitions = admin.list_topics(TOPIC, timeout=10).topics[TOPIC].partitions
    request = ConsumerGroupTopicPartitions(GROUP, [TopicPartition(TOPIC, p) for p in partitions])
    stored = admin.list_consumer_group_offsets([request])[GROUP].result().topic_partitions
    return {tp.partition: tp.offset for tp in stored}


def post_until(done: threading.Event, posts: httpx.Client, author_id: int) -> list[dict[str, Any]]:
    """Posts until told to stop, or MOST_POSTS times, and returns what it created."""
    created: list[dict[str, Any]] = []
    while not done.is_set() and len(created) < MOST_POSTS:
        created.append(post(posts, author_id, f"around the stop {len(created)}"))
    return created


def event_id_of(message: Message) -> str:
    event = decode(message.value(), headers_of(message))
    assert event is not None
    return str(event.event_id)


@pytest.mark.parametrize("part", ["subscribe-api", "post-service"])
def test_a_stopped_api_exits_within_seconds(part: str) -> None:
    try:
        stopping_took = stop(part)
    finally:
        make(f"start-{part}")
    assert stopping_took < WITHIN_S


def test_a_stopped_consumer_has_committed_exactly_what_it_applied_and_applies_nothing_twice(
    posts: httpx.Client, subscriptions: httpx.Client
) -> None:
    author, subscriber = random_id(), random_id()
    subscribe(subscriptions, subscriber, author)
    start = topic_end(TOPIC)
    first = post(posts, author, "before the stop")
    wait_notified(subscriptions, subscriber, {first["event_id"]})

    # Events keep coming while the consumer stops, so it is stopped with a batch in hand.
    done = threading.Event()
    with ThreadPoolExecutor(max_workers=1) as poster:
        posting = poster.submit(post_until, done, posts, author)
        try:
            stopping_took = stop("subscribe-consumer")
            done.set()
            created = [first, *posting.result()]
            applied = {n["event_id"] for n in notifications(subscriptions, subscriber)}
            committed = committed_offsets()
        finally:
            done.set()
            make("start-subscribe-consumer")
    assert stopping_took < WITHIN_S

    keys = {str(c["post_id"]).encode() for c in created}
    unseen = set(keys)

    def all_on_the_topic(message: Message) -> bool:
        unseen.discard(message.key() or b"")
        return not unseen

    mine = [m for m in read_topic(TOPIC, start, until=all_on_the_topic) if m.key() in keys]
    below_the_commit = {
        event_id_of(m) for m in mine if (m.offset() or 0) < committed[m.partition() or 0]
    }
    # Offsets are committed after the database commit, and the last batch's before the exit.
    assert applied == below_the_commit
    assert {first["event_id"]} <= applied

    event_ids = {c["event_id"] for c in created}
    received = wait_notified(subscriptions, subscriber, event_ids, timeout_s=60)
    assert Counter(n["event_id"] for n in received) == dict.fromkeys(event_ids, 1)
