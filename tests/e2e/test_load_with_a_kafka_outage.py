"""A short, low-rate load run with one Kafka outage: nothing lost, nothing doubled."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx
import pytest

from subscribe_service.adapters.kafka import AFTER_KAFKA_RESTART_S
from tests.e2e.system import post, subscribe, wait_notified
from tests.random_refs import random_id
from tests.running_stack import LOAD_RUN_TIMEOUT_S, REPO


# A load run, then a wait for the consumer's worst recovery from a Kafka restart.
@pytest.mark.timeout(LOAD_RUN_TIMEOUT_S + AFTER_KAFKA_RESTART_S)
def test_a_load_run_through_a_kafka_outage_loses_and_doubles_nothing(
    posts: httpx.Client, subscriptions: httpx.Client
) -> None:
    report = REPO / "reports" / "e2e-loadtest.json"
    done = subprocess.run(
        [
            sys.executable, "-m", "loadtest", "--rate", "20", "--duration", "20",
            "--subscribers", "2", "--fault", "kafka@5s+8s", "--fail-on-loss",
            "--report", str(report), "--chart", str(report.with_suffix(".png")),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=LOAD_RUN_TIMEOUT_S,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads(report.read_text())
    assert summary["accepted"] == 400
    assert summary["errors"] == 0
    assert (summary["lost"], summary["duplicated"]) == (0, 0)
    assert summary["delivered"] == 400
    assert summary["faults"][0]["recovery_s"] is not None

    # The consumer goes on after the run: once, it sat forever in an offset commit made while
    # the restarted broker reloaded its group coordinator, and every later post was stuck.
    # Stuck like that, it exits after COMMIT_LIMIT_S and is started anew.
    author, subscriber = random_id(), random_id()
    subscribe(subscriptions, subscriber, author)
    after = post(posts, author, "after the Kafka outage")
    wait_notified(subscriptions, subscriber, {after["event_id"]}, timeout_s=AFTER_KAFKA_RESTART_S)
