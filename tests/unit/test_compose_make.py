"""The Makefile under docker compose: every target that runs or reads the stack has a compose
branch (or says it is native-only), and a kill fault restarts the part, as supervisord does."""

from __future__ import annotations

import asyncio
import re
import time

import pytest

from loadtest import faults
from tests.running_stack import REPO

MAKEFILE = (REPO / "Makefile").read_text()
COMPOSE_BRANCH = "ifeq ($(STACK),compose)"
# Targets that never touch a stack, or reach it only through what both stacks publish alike on
# 127.0.0.1 (Kafka, the HTTP APIs).
ALIKE_ON_BOTH = {
    "help": "prints the targets",
    "sync": "installs the Python dependencies",
    "topics": "a Kafka client on 127.0.0.1:9092",
    "watch-raw": "a Kafka client on 127.0.0.1:9092",
    "watch-events": "a Kafka client on 127.0.0.1:9092",
    "dlq": "a Kafka client on 127.0.0.1:9092",
    "notifications": "an HTTP client of the subscribe API",
    "feed": "an HTTP client of the subscribe API",
    "newest-post": "an HTTP client of the subscribe API",
    "receiver-stop": "stops a process of this host that `make receiver` started",
    "test": "runs the native stack by name (STACK=native), on any machine",
    "unit": "no running parts",
    "lint": "no running parts",
    "audit": "no running parts",
    # The cluster topology is a third way to run the system, network namespaces on any Linux
    # machine, with or without a Docker engine (deploy/cluster).
    "cluster-up": "the cluster topology",
    "cluster-down": "the cluster topology",
    "cluster-status": "the cluster topology",
    "cluster-faults": "the cluster topology",
    "cluster-scaling": "the cluster topology",
    "cut-%": "a cluster host's link",
    "reconnect-%": "a cluster host's link",
}


def targets() -> dict[str, str]:
    """Each documented target and its recipe, up to the next target or blank line."""
    found = {}
    for match in re.finditer(r"^([a-z0-9%-]+):[^\n]*## [^\n]*\n((?:[^\n]+\n)*)", MAKEFILE, re.M):
        found[match[1]] = match[2]
    return found


def compose_branch(recipe: str) -> str:
    after = recipe.partition(COMPOSE_BRANCH)[2]
    return re.split(r"^(?:else|endif)$", after, maxsplit=1, flags=re.M)[0]


def test_the_targets_are_found() -> None:
    assert {"up", "down", "kill-%", "recover-connector", "loadtest"} <= set(targets())


@pytest.mark.parametrize("target", sorted(set(targets()) - set(ALIKE_ON_BOTH)))
def test_every_target_that_runs_the_stack_has_a_compose_branch(target: str) -> None:
    recipe = targets()[target]
    assert COMPOSE_BRANCH in recipe, f"make {target}: no compose branch nor native-only message"
    branch = compose_branch(recipe)
    assert branch.strip(), target
    # The native stack's secrets and processes are not there under compose.
    assert ".stack/" not in branch, target
    assert "$(NATIVE)" not in branch, target


def test_the_kill_fault_uses_the_make_target(monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[str] = []
    monkeypatch.setattr(faults, "make", ran.append)
    asyncio.run(
        faults.inject(faults.Fault.parse("subscribe-consumer@0s:kill"), time.monotonic(), None)
    )
    assert ran == ["kill-subscribe-consumer"]


def test_a_cut_fault_unplugs_the_host_and_plugs_it_back_in(monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[str] = []
    monkeypatch.setattr(faults, "make", ran.append)
    asyncio.run(faults.inject(faults.Fault.parse("kafka-3@0s+0s:cut"), time.monotonic(), None))
    assert ran == ["cut-kafka-3", "reconnect-kafka-3"]


def test_the_stop_start_and_kill_targets_act_on_a_cluster_host_under_stack_cluster() -> None:
    for verb in ("stop", "start", "kill"):
        assert f"@$(CLUSTER) {verb} $*" in targets()[f"{verb}-%"]


def test_a_kill_under_compose_is_a_crash_the_engine_restarts() -> None:
    branch = compose_branch(targets()["kill-%"])
    # moby's daemon/kill.go marks any kill through the engine API a manual stop and cancels the
    # restart manager, so neither `compose kill`, `stop` nor `docker kill` would come back.
    assert not re.search(r"(COMPOSE\)|docker)\s+(kill|stop|restart)\b", branch)
    assert "exec -T $*" in branch, "the part's processes are killed from inside"
    assert "kill -9 -1" in branch, "every process the part runs, its init (PID 1) aside"
    assert "RestartCount" in branch, "it returns once the engine has restarted the part"
