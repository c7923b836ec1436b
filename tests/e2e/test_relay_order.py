"""Two polling relays, edits in bursts, Kafka stopped in between: each post's events still reach
the topic, and the subscriber, in the order they were written."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import httpx
import pytest
from confluent_kafka import Message

from contract.events import EVENTS_TOPIC
from loadtest.compare import switch_to
from post_service.bootstrap import bootstrap_relay
from post_service.service.relay import publish_pending
from post_service.settings import RelayMode, RelaySettings
from subscribe_service.adapters.kafka import headers_of
from subscribe_service.domain.events import decode
from tests.e2e.system import post, subscribe, wait_notified
from tests.e2e.test_post_changes import edit, wait_listed
from tests.random_refs import random_id
from tests.running_stack import make, read_topic, topic_end

POSTS, BURSTS, EDITS_PER_BURST = 6, 4, 3


@pytest.fixture
def a_second_relay() -> Iterator[None]:
    """The stack in relay mode `polling` (its relay supervised as ever), and a second relay in
    this process, claiming small batches so that the two interleave on the same posts."""
    switch_to(RelayMode.POLLING)
    dependencies = bootstrap_relay(RelaySettings())
    stopping = threading.Event()

    def relay() -> None:
        while not stopping.is_set():
            # A round that fails (Kafka away) leaves its rows unpublished, as the real relay's.
            done = publish_pending(dependencies.unit_of_work, dependencies.publisher, limit=3)
            if done.claimed == 0 or done.failed:
                stopping.wait(0.05)

    second = threading.Thread(target=relay, name="second-relay")
    second.start()
    try:
        yield
    finally:
        stopping.set()
        second.join(timeout=30)
        dependencies.publisher.close()
        switch_to(RelayMode.CDC)


def versions_in_topic_order(messages: list[Message], post_ids: set[int]) -> dict[int, list[int]]:
    """Each post's versions as its events first appear on the topic (a copy sent again after a
    failure is the same event id: the inbox skips it, so only a first appearance counts)."""
    seen: set[str] = set()
    versions: dict[int, list[int]] = {}
    for message in messages:
        event = decode(message.value(), headers_of(message))
        if event is None or event.post_id not in post_ids or str(event.event_id) in seen:
            continue
        seen.add(str(event.event_id))
        versions.setdefault(event.post_id, []).append(event.version)
    return versions


@pytest.mark.usefixtures("a_second_relay")
def test_two_relays_keep_each_posts_events_in_order_across_a_kafka_outage(
    posts: httpx.Client, subscriptions: httpx.Client
) -> None:
    start = topic_end(EVENTS_TOPIC)
    author, subscriber = random_id(), random_id()
    subscribe(subscriptions, subscriber, author)
    created = [post(posts, author, f"ordered {i}") for i in range(POSTS)]
    wait_notified(subscriptions, subscriber, {c["event_id"] for c in created}, timeout_s=60)

    def burst(number: int) -> None:
        for _ in range(EDITS_PER_BURST):
            for c in created:
                edit(posts, c["post_id"], author, title=f"{c['post_id']} burst {number}")

    burst(1)
    make("stop-kafka")
    try:
        burst(2)
        burst(3)
    finally:
        make("start-kafka")
    burst(4)

    expected = {c["post_id"]: f"{c['post_id']} burst {BURSTS}" for c in created}
    wait_listed(subscriptions, subscriber, expected, timeout_s=180)
    last_version = 1 + BURSTS * EDITS_PER_BURST
    ids = set(expected)

    # Every last edit has reached the subscriber, so it is on the topic: read to its end.
    messages = read_topic(EVENTS_TOPIC, start, until=lambda message: True)
    versions = versions_in_topic_order(messages, ids)
    assert versions == {post_id: list(range(1, last_version + 1)) for post_id in ids}
