"""The README's promise: the logs are JSON lines, and one grep for an event id follows a post
from the request to every notification. Read from the native stack's log files."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from deploy.native.layout import Layout
from tests.e2e.system import post, subscribe, wait_notified
from tests.random_refs import random_id
from tests.running_stack import eventually

LOGS = Layout.from_env().logs
SERVICE_LOGS = ["post-service", "subscribe-api", "subscribe-consumer"]
pytestmark = pytest.mark.skipif(
    not LOGS.is_dir(), reason="no native stack: compose keeps logs in Docker"
)


def lines_since(sizes: dict[Path, int]) -> list[str]:
    """What the log files got after their sizes were taken."""
    lines = []
    for path, size in sizes.items():
        with path.open("rb") as log:
            log.seek(size)
            lines += log.read().decode().splitlines()
    return lines


def test_one_grep_for_the_event_id_follows_a_post_to_every_notification(
    posts: httpx.Client, subscriptions: httpx.Client
) -> None:
    sizes = {LOGS / f"{name}.log": (LOGS / f"{name}.log").stat().st_size for name in SERVICE_LOGS}
    author, subscribers = random_id(), [random_id(), random_id()]
    for subscriber in subscribers:
        subscribe(subscriptions, subscriber, author)

    created = post(posts, author, "followed through the logs")
    for subscriber in subscribers:
        wait_notified(subscriptions, subscriber, {created["event_id"]})

    def traced() -> list[dict[str, Any]] | None:
        grepped = [line for line in lines_since(sizes) if created["event_id"] in line]
        entries = [json.loads(line) for line in grepped]
        events = Counter(entry["event"] for entry in entries)
        delivered = events["notifications delivered"] == 1
        return entries if events["post created"] == 1 and delivered else None

    entries = eventually(traced, what="the post's log lines, from request to notifications")
    (delivered,) = [e for e in entries if e["event"] == "notifications delivered"]
    assert sorted(delivered["subscriber_ids"]) == sorted(subscribers)
    assert delivered["subscribers"] == len(subscribers)
    assert all(entry["event_id"] == created["event_id"] for entry in entries)


@pytest.mark.parametrize(
    ("name", "start"),
    [
        ("post-service", "Started server process"),
        ("subscribe-api", "Started server process"),
        ("subscribe-consumer", "consumer started"),
    ],
)
def test_everything_a_service_logged_since_its_start_is_json(name: str, start: str) -> None:
    """uvicorn's lines and librdkafka's (a broker gone, in the fault tests) included."""
    lines = (LOGS / f"{name}.log").read_text().splitlines()
    starts = [number for number, line in enumerate(lines) if start in line]
    assert starts, f"{name} has not started"
    for line in lines[starts[-1] :]:
        assert isinstance(json.loads(line), dict), line
