"""A source task that failed because its producer could not send is restarted, and sends on.

Kafka Connect gives up a send after `max.block.ms` (1 s here) and fails the task for good; in CI
that once stopped the outbox connector right after a Kafka restart. The connector-restarter
restarts such a task (connect/restarter.py). A topic that does not exist yet fails a send the
same way, without stopping Kafka: a scratch connector on the posts table, whose topics are made
only after its task failed, shows it.
"""

from __future__ import annotations

import contextlib
import json
import random
import uuid
from collections.abc import Iterator

import httpx
import pytest
from confluent_kafka import KafkaException, Message
from confluent_kafka.admin import AdminClient, NewTopic

from connect.connector import STATE_CONNECTOR
from connect.register import RegistrationSettings, render_for
from connect.restarter import PRODUCER_SEND_FAILED
from deploy import parts
from tests.e2e.system import post
from tests.random_refs import random_id
from tests.running_stack import CONNECT_URL, KAFKA, eventually, read_topic, topic_end

ADMIN = AdminClient({"bootstrap.servers": KAFKA})


@pytest.fixture
def scratch_source() -> Iterator[tuple[str, dict[str, str]]]:
    """The post-state connector's config under a name, server id and topics of its own; the
    connector and its topics are removed afterwards."""
    name = f"scratch-source-{uuid.uuid4().hex[:8]}"
    config = render_for(RegistrationSettings(), STATE_CONNECTOR) | {
        "topic.prefix": name,
        "database.server.id": str(random.randint(1_000_000, 2_000_000)),
        "schema.history.internal.kafka.topic": f"{name}.schema-history",
        "snapshot.mode": "no_data",
    }
    try:
        yield name, config
    finally:
        httpx.delete(f"{CONNECT_URL}/connectors/{name}", timeout=30)
        for future in ADMIN.delete_topics([*topics_of(config), f"{name}.schema-history"]).values():
            with contextlib.suppress(KafkaException):
                future.result(timeout=30)


def topics_of(config: dict[str, str]) -> list[str]:
    """Its output topic for the posts table, and its heartbeat topic."""
    prefix = config["topic.prefix"]
    return [f"{prefix}.post_service_db.posts", f"{config['topic.heartbeat.prefix']}.{prefix}"]


def readable(topic: str) -> bool:
    """A topic just made can be read: the broker's metadata has its partitions and their leader
    serves them. Until then reading its end fails (in CI once, right after it was made:
    NOT_LEADER_FOR_PARTITION)."""
    try:
        topic_end(topic)
    except (AssertionError, KafkaException):  # not in the metadata yet; no leader serving yet
        return False
    return True


def restarts_so_far() -> int:
    return int(httpx.get(parts.CONNECTOR_RESTARTER.health_url).text.split()[1])


def task(name: str) -> dict[str, str] | None:
    tasks = httpx.get(f"{CONNECT_URL}/connectors/{name}/status").json().get("tasks") or []
    return tasks[0] if tasks else None


def test_a_source_task_failed_on_a_send_kafka_never_took_is_restarted_and_sends_on(
    posts: httpx.Client, scratch_source: tuple[str, dict[str, str]]
) -> None:
    name, config = scratch_source
    before = restarts_so_far()
    httpx.put(f"{CONNECT_URL}/connectors/{name}/config", json=config).raise_for_status()

    # Its first heartbeat goes to a topic that does not exist: the send is given up after 1 s.
    def failed() -> dict[str, str] | None:
        found = task(name)
        return found if found is not None and found["state"] == "FAILED" else None

    trace = eventually(failed, 60, what="the task to fail")["trace"]
    assert PRODUCER_SEND_FAILED in trace.splitlines()[0]
    assert "TimeoutException" in trace

    output, heartbeats = topics_of(config)
    created = ADMIN.create_topics([NewTopic(t, num_partitions=1) for t in (output, heartbeats)])
    for future in created.values():
        future.result(timeout=30)
    eventually(lambda: readable(output) and readable(heartbeats), 30, what="the new topics")
    # Restarted (after its backoff: it may have been restarted, and failed again, before the
    # topics existed), it sends: its heartbeats arrive.
    eventually(lambda: topic_end(heartbeats)[0] > 0, 120, what="a heartbeat after the restart")
    assert restarts_so_far() > before
    assert (t := task(name)) is not None
    assert t["state"] == "RUNNING"

    made = post(posts, random_id(), "after the restart")

    def is_made(message: Message) -> bool:
        value = json.loads(message.value() or b"null")
        after = (value or {}).get("payload", {}).get("after") or {}
        return bool(after.get("post_id") == made["post_id"])

    assert read_topic(output, {0: 0}, until=is_made, timeout_s=30)
