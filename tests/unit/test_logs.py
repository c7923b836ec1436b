"""Both services log JSON lines only: their own events and the standard library's records
(uvicorn's lines and librdkafka's among them), at the configured level."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import structlog
import structlog.testing
from hypothesis import given
from hypothesis import strategies as st

from chassis.logs import configure_logging
from post_service.adapters.kafka import EventPublisher
from post_service.domain.posts import new_event_id
from subscribe_service.adapters.notifier import SUBSCRIBERS_NAMED, LoggingNotifier
from subscribe_service.domain.notifications import Notification
from tests.running_stack import REPO, eventually


@pytest.fixture(autouse=True)
def reset_logging() -> Iterator[None]:
    yield
    # The handlers write to a stream captured for one test only.
    logging.getLogger().handlers.clear()
    structlog.reset_defaults()


@pytest.fixture
def configure() -> Callable[[str], None]:
    """Both services' processes configure their logs with this one function."""
    return configure_logging


def test_uvicorns_records_and_our_events_are_one_json_object_a_line(
    configure: Callable[[str], None], capsys: pytest.CaptureFixture[str]
) -> None:
    configure("info")

    logging.getLogger("uvicorn.error").info("Started server process [%d]", 4242)
    logging.getLogger("uvicorn.error").debug("below the level")
    structlog.get_logger().info("post created", event_id="2b06fa23")
    try:
        raise ConnectionError("database gone")
    except ConnectionError:
        logging.getLogger("uvicorn.error").exception("Exception in ASGI application")

    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    started, created, failed = lines
    assert started | {"timestamp": None} == {
        "event": "Started server process [4242]",
        "level": "info",
        "logger": "uvicorn.error",
        "timestamp": None,
    }
    assert started["timestamp"].endswith("Z")
    assert (created["event"], created["event_id"]) == ("post created", "2b06fa23")
    assert failed["level"] == "error"
    assert "ConnectionError: database gone" in failed["exception"]


def test_librdkafkas_own_lines_are_json_too(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("info")
    publisher = EventPublisher("127.0.0.1:1", "nowhere", message_timeout_ms=1000)

    def client_lines() -> list[dict[str, Any]]:
        publisher.producer.poll(0.1)  # hands librdkafka's lines over
        printed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        return [entry for entry in printed if entry["logger"] == "librdkafka"]

    (refused, *_) = eventually(client_lines, timeout_s=10, what="librdkafka's first line")
    assert "Connection refused" in refused["event"]
    assert refused["level"] == "error"


# Threads of one process logging at once, through structlog and through the standard library
# (SQLAlchemy's pool, uvicorn), as the post service did while its database restarted.
INTERLEAVED = """
import logging, sys, threading
import structlog
from chassis.logs import configure_logging

configure_logging()
def from_structlog():
    for i in range(3000):
        structlog.get_logger().warning("database error", error="x" * (i % 700))
def from_stdlib():
    for i in range(3000):
        logging.getLogger("sqlalchemy.pool").error("Exception during reset %s", "y" * (i % 700))
threads = [threading.Thread(target=t) for t in (from_structlog, from_stdlib) * 2]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
"""


def test_lines_logged_at_once_by_threads_through_both_loggers_stay_whole_lines() -> None:
    # structlog's PrintLogger wrote a line and its newline in two calls: the standard library's
    # handler got in between, and CI's post-service.log held two JSON objects on one line.
    done = subprocess.run(
        [sys.executable, "-c", INTERLEAVED], capture_output=True, text=True, check=True, cwd=REPO
    )
    lines = done.stdout.splitlines()
    assert len(lines) == 4 * 3000
    for line in lines:
        assert isinstance(json.loads(line), dict), line[:200]


@given(
    subscribers_per_event=st.lists(st.integers(min_value=1, max_value=250), max_size=5),
)
def test_the_notifier_logs_one_line_per_event_naming_its_subscribers(
    subscribers_per_event: list[int],
) -> None:
    events = [new_event_id() for _ in subscribers_per_event]
    created_at = datetime(2026, 12, 5, tzinfo=UTC)
    notifications = [
        Notification(event_id, subscriber_id, post_id, 7, "t", created_at)
        for post_id, (event_id, count) in enumerate(
            zip(events, subscribers_per_event, strict=True), start=1
        )
        for subscriber_id in range(1, count + 1)
    ]
    with structlog.testing.capture_logs() as lines:
        LoggingNotifier().deliver(notifications)
    assert [line["event_id"] for line in lines] == [str(e) for e in events]
    for line, count in zip(lines, subscribers_per_event, strict=True):
        assert line["event"] == "notifications delivered"
        assert line["subscribers"] == count
        assert line["subscriber_ids"] == list(range(1, min(count, SUBSCRIBERS_NAMED) + 1))
