"""How tests reach the running system, and how they wait for it: polling with a deadline."""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import httpx
from confluent_kafka import Consumer, Message, TopicPartition

from deploy import parts
from deploy.native import databases
from deploy.native.layout import Layout

REPO = Path(__file__).resolve().parents[1]
POST_URL = parts.POST_SERVICE.url
SUBSCRIBE_URL = parts.SUBSCRIBE_API.url
CONSUMER_METRICS_URL = parts.SUBSCRIBE_CONSUMER.health_url
KAFKA = parts.KAFKA.address
CONNECT_URL = parts.CONNECT.url
# How long a test lets a load run (python -m loadtest and its kin) take, drain included.
LOAD_RUN_TIMEOUT_S = 600

T = TypeVar("T")


def eventually(
    probe: Callable[[], T | None], timeout_s: float = 30.0, interval_s: float = 0.1, what: str = ""
) -> T:
    """Calls probe until it returns something truthy, and returns that; fails at the deadline."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout_s}s: {what or probe.__name__}")
        time.sleep(interval_s)


def make(target: str, *variables: str) -> str:
    """Runs a Make target as a reader of the README would, and returns what it printed."""
    done = subprocess.run(
        ["make", "--no-print-directory", target, *variables],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"make {target} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def post_db_as_admin(sql: str) -> list[list[str]]:
    """Runs SQL on the post database as its administrator, over the native stack's socket."""
    return databases.query_as_admin(Layout.from_env(), databases.POST_DB, sql)


def subscribe_db_as_admin(sql: str) -> list[list[str]]:
    """Runs SQL on the subscribe database as its administrator, over the native stack's socket."""
    return databases.query_as_admin(Layout.from_env(), databases.SUBSCRIBE_DB, sql)


def metric(name: str) -> float:
    """One sample of the consumer's Prometheus metrics."""
    for line in httpx.get(CONSUMER_METRICS_URL, timeout=5).text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"no metric {name}")


def topic_end(topic: str) -> dict[int, int]:
    """Each partition's next offset: where what is written from now on will be."""
    consumer = Consumer({"bootstrap.servers": KAFKA, "group.id": f"test-{uuid.uuid4()}"})
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        assert partitions, f"there is no topic {topic}"
        return {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
            for p in partitions
        }
    finally:
        consumer.close()


def read_topic(
    topic: str, start: dict[int, int], until: Callable[[Message], bool], timeout_s: float = 30
) -> list[Message]:
    """The messages of the topic from `start` (see topic_end): through the first one `until`
    accepts, and on to the end every partition had then, so what came before it is all there."""
    consumer = Consumer(
        {
            "bootstrap.servers": KAFKA,
            "group.id": f"test-{uuid.uuid4()}",
            "enable.auto.commit": False,
        }
    )
    consumer.assign([TopicPartition(topic, p, offset) for p, offset in start.items()])
    messages: list[Message] = []
    seen = False

    def consume() -> None:
        nonlocal seen
        batch = [m for m in consumer.consume(500, timeout=0.5) if m.error() is None]
        messages.extend(batch)
        seen = seen or any(until(m) for m in batch)

    def found() -> bool:
        consume()
        return seen

    try:
        eventually(found, timeout_s, what=f"the awaited message on {topic}")
        ends = {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
            for p in start
        }

        def at_the_end() -> bool:
            consume()
            read = dict(start)
            for m in messages:
                partition, offset = m.partition() or 0, m.offset() or 0
                read[partition] = max(read[partition], offset + 1)
            return all(read[p] >= end for p, end in ends.items())

        eventually(at_the_end, timeout_s, what=f"reading {topic} to its end")
    finally:
        consumer.close()
    return messages
