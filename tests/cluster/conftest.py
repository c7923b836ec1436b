"""The cluster tier: the cluster topology (deploy/cluster, `make cluster-up`) under load, with
hosts killed and cut off, and the load test's audit afterwards."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import httpx
import pytest

from deploy.cluster import config
from deploy.cluster.topology import (
    BALANCER,
    CONNECT_HOSTS,
    GATEWAY,
    SUBSCRIBE_API,
    where_services_reach,
)
from deploy.native.layout import read_env_file
from tests.running_stack import REPO, eventually

RATE, DURATION_S = 20, 45
SUBSCRIBERS = 2
EDIT_SHARE, DELETE_SHARE = 0.5, 0.05
REPORTS = REPO / "reports" / "cluster-faults"


def cluster_environment() -> dict[str, str]:
    """What the load test needs to reach the cluster: its addresses and passwords, and STACK so
    that its faults' make targets act on the cluster's hosts."""
    secrets = read_env_file(config.layout().secrets)
    return {**os.environ, **secrets, **where_services_reach(), "STACK": "cluster"}


def cluster_is_healthy() -> bool:
    done = subprocess.run(
        [sys.executable, "-m", "deploy.cluster", "status"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    return done.returncode == 0


@pytest.fixture(autouse=True)
def healthy_cluster() -> None:
    """Each case starts on a whole cluster: every host ready, every connector running. What an
    earlier case left behind (a host down or cut off, if it failed mid-fault) is undone first."""
    if not cluster_is_healthy():
        subprocess.run([sys.executable, "-m", "deploy.cluster", "heal"], cwd=REPO, check=True)
    eventually(cluster_is_healthy, 180, 2, what="every cluster host ready (make cluster-status)")


def load_through(faults: list[str], name: str, authors: int = 10) -> dict[str, Any]:
    """One load run through the load balancer with the faults, and its audit: every accepted
    post delivered to each subscriber of its author exactly once, in the database and at the
    webhook receiver; every edit and deletion applied in order; the read model equal to the
    posts table."""
    report = REPORTS / f"{name}.json"
    command = [
        sys.executable, "-m", "loadtest", "--rate", str(RATE), "--duration", str(DURATION_S),
        "--subscribers", str(SUBSCRIBERS), "--authors", str(authors), "--fail-on-loss",
        "--drain-timeout", "180",
        "--edit-share", str(EDIT_SHARE), "--delete-share", str(DELETE_SHARE),
        "--post-url", BALANCER.runs.url, "--subscribe-url", SUBSCRIBE_API.runs.url,
        "--receiver-host", GATEWAY,
        "--report", str(report), "--chart", str(report.with_suffix(".png")),
    ]  # fmt: skip
    for fault in faults:
        command += ["--fault", fault]
    done = subprocess.run(
        command, cwd=REPO, env=cluster_environment(), capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    summary: dict[str, Any] = json.loads(report.read_text())
    assert (summary["lost"], summary["duplicated"]) == (0, 0)
    assert summary["delivered"] == summary["accepted"] > 0
    assert (summary["order_violations"], summary["changes_lost"]) == (0, 0)
    read_model = summary["read_model"]
    assert (read_model["differing_rows"], read_model["converged_s"] is not None) == (0, True)
    hooks = summary["webhooks"]
    assert hooks["expected"] == summary["accepted"] * SUBSCRIBERS
    assert (hooks["lost"], hooks["unexpected"], hooks["unverified"]) == (0, 0, 0)
    assert hooks["exactly_once_after_dedupe"]
    return summary


def connect_status(path: str) -> dict[str, Any] | None:
    """Asks each Connect worker in turn: one of them may be down."""
    for host in CONNECT_HOSTS:
        try:
            answer = httpx.get(f"{host.runs.url}{path}", timeout=3)
        except httpx.HTTPError:
            continue
        if answer.status_code == 200:
            found: dict[str, Any] = answer.json()
            return found
    return None
