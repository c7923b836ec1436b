"""Faults in the cluster topology, each under a load of 20 posts/s through the load balancer with
edits and deletions beside, and the load test's whole audit afterwards (conftest.load_through).
`make test` runs the two marked essential; `make cluster-faults` runs them all."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import pytest
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from connect.connector import EVENTS_CONNECTOR
from contract.events import EVENTS_TOPIC
from deploy.cluster.topology import BOOTSTRAP_SERVERS, CONNECT_HOSTS, HOSTS, KAFKA_HOSTS
from tests.cluster.conftest import connect_status, load_through
from tests.running_stack import eventually

T = TypeVar("T")


@contextmanager
def watching(probe: Callable[[], T]) -> Iterator[list[T]]:
    """Calls probe every second while the block runs; yields what it returned, as it comes."""
    seen: list[T] = []
    done = threading.Event()

    def watch() -> None:
        while not done.wait(1):
            seen.append(probe())

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        yield seen
    finally:
        done.set()
        watcher.join()


def fewest_in_sync() -> int:
    """The smallest in-sync replica set among the events topic's partitions, as Kafka reports
    it now (3 when the question cannot be answered)."""
    try:
        admin = AdminClient({"bootstrap.servers": BOOTSTRAP_SERVERS})
        topic = admin.list_topics(EVENTS_TOPIC, timeout=5).topics[EVENTS_TOPIC]
    except KafkaException:
        return len(KAFKA_HOSTS)
    return min((len(p.isrs) for p in topic.partitions.values()), default=len(KAFKA_HOSTS))


def partition_leaders() -> dict[int, int]:
    """The events topic's partitions and the node id leading each."""
    admin = AdminClient({"bootstrap.servers": BOOTSTRAP_SERVERS})
    topic = admin.list_topics(EVENTS_TOPIC, timeout=10).topics[EVENTS_TOPIC]
    return {number: partition.leader for number, partition in topic.partitions.items()}


def fully_replicated() -> bool:
    admin = AdminClient({"bootstrap.servers": BOOTSTRAP_SERVERS})
    topic = admin.list_topics(EVENTS_TOPIC, timeout=10).topics[EVENTS_TOPIC]
    return all(len(partition.isrs) == len(KAFKA_HOSTS) for partition in topic.partitions.values())


def source_task_host() -> str:
    """The host whose Connect worker runs the outbox connector's task."""
    status = connect_status(f"/connectors/{EVENTS_CONNECTOR}/status")
    assert status is not None, "no Connect worker answers"
    assert status["tasks"], status
    address = status["tasks"][0]["worker_id"].split(":")[0]
    return next(host.name for host in HOSTS if host.address == address)


def test_a_kafka_host_powered_off_under_load_and_brought_back() -> None:
    # The node leading partition 0 of the events topic: its partitions must change leader.
    leader = partition_leaders()[0]
    host = KAFKA_HOSTS[leader - 1]
    with watching(fewest_in_sync) as in_sync:
        summary = load_through([f"{host.name}@10s+20s"], f"{host.name}-powered-off")
    assert summary["errors"] == 0
    assert min(in_sync) < len(KAFKA_HOSTS), "no partition lost a copy: the fault did not bite"
    assert summary["faults"][0]["recovery_s"] is not None, summary["faults"]
    # Back, it catches up and is in sync again on every partition.
    eventually(fully_replicated, 120, 1, what=f"{host.name} back in sync on {EVENTS_TOPIC}")


def test_the_connect_worker_running_the_source_task_killed_and_the_task_moves() -> None:
    before = source_task_host()
    other = next(host.name for host in CONNECT_HOSTS if host.name != before)

    def running_on() -> str | None:
        status = connect_status(f"/connectors/{EVENTS_CONNECTOR}/status")
        if status and status["tasks"] and status["tasks"][0]["state"] == "RUNNING":
            return source_task_host()
        return None

    # Powered off for 40 s: longer than its session (10 s) and the group's wait for a lost
    # member (deploy/cluster/worker.properties), so its task must move to the other worker.
    with watching(running_on) as seen:
        summary = load_through([f"{before}@10s+40s"], f"{before}-powered-off")
    assert summary["errors"] == 0
    assert other in seen, f"the source task never ran on {other}: seen on {set(seen)}"


@pytest.mark.extended
def test_a_kafka_host_cut_off_for_30_s_then_reconnected() -> None:
    host = KAFKA_HOSTS[partition_leaders()[1] - 1]
    with watching(fewest_in_sync) as in_sync:
        summary = load_through([f"{host.name}@10s+30s:cut"], f"{host.name}-cut-off")
    assert summary["errors"] == 0
    assert min(in_sync) < len(KAFKA_HOSTS), "no partition lost a copy: the cut did not bite"
    eventually(fully_replicated, 120, 1, what=f"{host.name} back in sync after the cut")


@pytest.mark.extended
def test_a_consumer_host_powered_off_and_its_partitions_move() -> None:
    load_through(["subscribe-consumer-2@10s+30s"], "subscribe-consumer-2-powered-off")


@pytest.mark.extended
def test_a_post_service_instance_powered_off_behind_the_load_balancer() -> None:
    summary = load_through(["post-service-1@10s+20s"], "post-service-1-powered-off")
    # What reached the dying instance was answered 502 by nginx and retried by the client with
    # its Idempotency-Key: every post was stored once (the audit), and none is missing.
    assert summary["doubled_posts"] == 0
    assert summary["statuses"]["201"] == summary["accepted"]


@pytest.mark.extended
def test_the_post_database_cut_off_for_20_s() -> None:
    summary = load_through(["post-db@10s+20s:cut"], "post-db-cut-off")
    assert summary["doubled_posts"] == 0
