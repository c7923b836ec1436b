"""Faults the tutorial tests by hand: Kafka down while posting, and replaying the whole topic."""

from __future__ import annotations

from collections import Counter

import httpx
from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import AdminClient

from subscribe_service.adapters.kafka import AFTER_KAFKA_RESTART_S
from subscribe_service.settings import Settings
from tests.e2e.system import notifications, post, subscribe, wait_notified
from tests.random_refs import random_id
from tests.running_stack import KAFKA, eventually, make, metric

SETTINGS = Settings.model_fields


def consumer_lag() -> int:
    """Messages of the events topic the consumer group has not committed yet."""
    admin = AdminClient({"bootstrap.servers": KAFKA})
    topic, group = SETTINGS["events_topic"].default, SETTINGS["consumer_group"].default
    partitions = admin.list_topics(topic, timeout=10).topics[topic].partitions
    request = ConsumerGroupTopicPartitions(group, [TopicPartition(topic, p) for p in partitions])
    committed = admin.list_consumer_group_offsets([request])[group].result().topic_partitions
    probe = Consumer({"bootstrap.servers": KAFKA, "group.id": "lag-probe"})
    try:
        return sum(
            probe.get_watermark_offsets(TopicPartition(topic, tp.partition), timeout=10)[1]
            - max(tp.offset, 0)
            for tp in committed
        )
    finally:
        probe.close()


def test_posts_made_while_kafka_is_down_are_all_delivered_once_it_is_back(
    posts: httpx.Client, subscriptions: httpx.Client
) -> None:
    author, subscriber = random_id(), random_id()
    subscribe(subscriptions, subscriber, author)

    make("stop-kafka")
    try:
        created = [post(posts, author, f"while Kafka is down {i}") for i in range(10)]
    finally:
        make("start-kafka")

    event_ids = {c["event_id"] for c in created}
    received = wait_notified(subscriptions, subscriber, event_ids, timeout_s=AFTER_KAFKA_RESTART_S)
    assert Counter(n["event_id"] for n in received) == dict.fromkeys(event_ids, 1)


def test_make_replay_creates_no_new_notification(
    posts: httpx.Client, subscriptions: httpx.Client
) -> None:
    author, subscriber = random_id(), random_id()
    subscribe(subscriptions, subscriber, author)
    created = [post(posts, author, f"before the replay {i}") for i in range(3)]
    before = wait_notified(subscriptions, subscriber, {c["event_id"] for c in created})

    make("replay")

    # The restarted consumer counts from zero: once it has caught up with the whole topic,
    # every event it read was one it had applied before.
    eventually(lambda: consumer_lag() == 0, timeout_s=60, what="the replay to catch up")
    assert metric("subscribe_duplicates_skipped_total") >= len(created)
    assert metric("subscribe_events_applied_total") == 0
    assert notifications(subscriptions, subscriber) == before
