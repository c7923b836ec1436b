"""Faults in the cluster topology, each under a load of 20 posts/s through the load balancer with
edits and deletions beside, and the load test's whole audit afterwards (conftest.load_through).
`make test` runs the first two; `make cluster-faults` runs them all. A host "killed" has every
process SIGKILLed and stays down for the fault's duration; one "cut off" falls silent."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import pytest
from confluent_kafka import KafkaException

from connect.connector import EVENTS_CONNECTOR
from contract.events import EVENTS_TOPIC
from deploy.cluster import config
from deploy.cluster.partitions import events_partitions
from deploy.cluster.topology import CONNECT_HOSTS, HOSTS, KAFKA_HOSTS
from tests.cluster.conftest import connect_status, load_through
from tests.running_stack import eventually

T = TypeVar("T")
# A case is a load run of about a minute, its fault and its drain, after the cluster's own
# health check: more than the suite's 300 s default.
pytestmark = pytest.mark.timeout(900)


@contextmanager
def watching(probe: Callable[[], T | None]) -> Iterator[list[T]]:
    """Calls probe every second while the block runs; yields what it returned, as it comes
    (nothing for a call that failed or returned None: a part is down, that is the point)."""
    seen: list[T] = []
    done = threading.Event()

    def watch() -> None:
        while not done.wait(1):
            try:
                answer = probe()
            except Exception as error:
                print(f"probe failed during the fault: {error!r}")
                continue
            if answer is not None:
                seen.append(answer)

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
        partitions = events_partitions(timeout_s=5)
    except KafkaException:
        return len(KAFKA_HOSTS)
    return min((len(p.isrs) for p in partitions.values()), default=len(KAFKA_HOSTS))


def partition_leaders() -> dict[int, int]:
    """The events topic's partitions and the node id leading each."""
    return {number: partition.leader for number, partition in events_partitions().items()}


def fully_replicated() -> bool:
    partitions = events_partitions().values()
    return all(len(partition.isrs) == len(KAFKA_HOSTS) for partition in partitions)


def source_task_host() -> str:
    """The host whose Connect worker runs the outbox connector's task."""
    status = connect_status(f"/connectors/{EVENTS_CONNECTOR}/status")
    assert status is not None, "no Connect worker answers"
    assert status["tasks"], status
    address = status["tasks"][0]["worker_id"].split(":")[0]
    return next(host.name for host in HOSTS if host.address == address)


def test_a_kafka_host_killed_under_load_and_brought_back() -> None:
    # The node leading partition 0 of the events topic: its partitions must change leader.
    leader = partition_leaders()[0]
    host = KAFKA_HOSTS[leader - 1]
    with watching(fewest_in_sync) as in_sync:
        summary = load_through([f"{host.name}@10s+20s"], f"{host.name}-killed")
    assert summary["errors"] == 0
    assert min(in_sync) < len(KAFKA_HOSTS), "no partition lost a copy: the fault did not bite"
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

    # Down for 40 s: longer than its session (10 s) and the group's wait for a lost
    # member (deploy/cluster/worker.properties), so its task must move to the other worker.
    with watching(running_on) as seen:
        summary = load_through([f"{before}@10s+40s"], f"{before}-killed")
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
def test_a_consumer_host_killed_and_its_partitions_move() -> None:
    # Sixty authors: every partition gets events, those of the killed member's among them.
    summary = load_through(["subscribe-consumer-2@10s+30s"], "subscribe-consumer-2-killed", 60)
    # Its partitions' events waited for the group to give them to the others (its session: 10 s).
    assert summary["e2e_ms"]["max"] > 5000, "no event waited: the fault did not bite"


@pytest.mark.extended
def test_a_post_service_instance_killed_behind_the_load_balancer() -> None:
    balancer_log = config.layout().logs / "load-balancer.log"
    failures_before = upstream_failures(balancer_log.read_text())
    summary = load_through(["post-service-1@10s+20s"], "post-service-1-killed")
    # What reached the dying instance was answered 502 by nginx and retried by the client with
    # its Idempotency-Key: every post was stored once (the audit), and none is missing.
    assert summary["errors"] == 0
    assert summary["doubled_posts"] == 0
    assert summary["statuses"]["201"] == summary["accepted"]
    assert upstream_failures(balancer_log.read_text()) > failures_before, "nginx never noticed"


def upstream_failures(log: str) -> int:
    """What nginx logged of an instance it could not reach or that dropped a request."""
    return log.count("while connecting to upstream") + log.count("upstream prematurely closed")


@pytest.mark.extended
def test_the_post_database_cut_off_for_20_s() -> None:
    summary = load_through(["post-db@10s+20s:cut"], "post-db-cut-off")
    assert summary["doubled_posts"] == 0
    assert summary["retried"] > 0, "no request had to be retried: the cut did not bite"
