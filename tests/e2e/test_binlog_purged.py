"""The connector comes back after the binlog it needed was purged: it fails loudly instead of
skipping events, and `make recover-connector` brings every event through, once."""

from __future__ import annotations

import subprocess
from collections import Counter
from datetime import UTC, datetime, timedelta

import httpx

from tests.e2e.system import post, subscribe, wait_notified
from tests.random_refs import random_id
from tests.running_stack import CONNECT_URL, REPO, eventually, make
from tests.running_stack import post_db_as_admin as admin


def purge_the_binlog() -> None:
    """Starts a new binlog file and deletes every older one, as a short retention would."""

    def no_binlog_reader_left() -> bool:  # MariaDB keeps a file a dump thread still reads
        return not any("Binlog Dump" in row for row in admin("SHOW PROCESSLIST"))

    eventually(no_binlog_reader_left, timeout_s=30, what="the connector's binlog readers to go")
    admin("FLUSH BINARY LOGS")
    ((current, *_),) = admin("SHOW MASTER STATUS")

    def only_the_current_file_left() -> bool:
        # MariaDB purges a file only once its binlog checkpoint has moved past it, which happens
        # a moment after the rotation: ask again until it has.
        admin(f"PURGE BINARY LOGS TO '{current}'")
        return [name for name, *_ in admin("SHOW BINARY LOGS")] == [current]

    eventually(only_the_current_file_left, timeout_s=30, what="the old binlog files to go")


def outbox_connector_failed() -> bool:
    status = httpx.get(f"{CONNECT_URL}/connectors/outbox-connector/status", timeout=5).json()
    return any(task["state"] == "FAILED" for task in status["tasks"])


def test_a_connector_whose_binlog_is_gone_fails_loudly_and_recovers_every_event(
    posts: httpx.Client, subscriptions: httpx.Client
) -> None:
    author, subscriber = random_id(), random_id()
    subscribe(subscriptions, subscriber, author)
    since = datetime.now(UTC) - timedelta(seconds=1)
    before = post(posts, author, "before the outage")
    wait_notified(subscriptions, subscriber, {before["event_id"]})

    make("stop-connect")
    try:
        during = [post(posts, author, f"binlog purged {i}") for i in range(5)]
        purge_the_binlog()
    finally:
        make("start-connect")

    eventually(outbox_connector_failed, timeout_s=60, what="the connector to fail")
    status = subprocess.run(["make", "status"], cwd=REPO, capture_output=True, text=True)
    assert status.returncode != 0
    assert "FAILED" in status.stdout

    make("recover-connector", f"SINCE={since.isoformat()}")

    event_ids = {before["event_id"], *(c["event_id"] for c in during)}
    received = wait_notified(subscriptions, subscriber, event_ids, timeout_s=120)
    assert Counter(n["event_id"] for n in received) == dict.fromkeys(event_ids, 1)
    make("status")
