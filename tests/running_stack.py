"""How tests reach the running system, and how they wait for it: polling with a deadline."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import httpx

REPO = Path(__file__).resolve().parents[1]
POST_URL = "http://127.0.0.1:8081"
SUBSCRIBE_URL = "http://127.0.0.1:8082"
CONSUMER_METRICS_URL = "http://127.0.0.1:8084/metrics"
KAFKA = "127.0.0.1:9092"
CONNECT_URL = "http://127.0.0.1:8083"

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


def make(target: str) -> str:
    """Runs a Make target as a reader of the README would, and returns what it printed."""
    done = subprocess.run(
        ["make", "--no-print-directory", target],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"make {target} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def metric(name: str) -> float:
    """One sample of the consumer's Prometheus metrics."""
    for line in httpx.get(CONSUMER_METRICS_URL, timeout=5).text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"no metric {name}")
