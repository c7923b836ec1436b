"""The read model: Debezium's JDBC sink keeps a copy of the posts table in the subscribe database
(post_replicas), and GET /feed serves a subscriber's posts from it, as they are now. (Under faults
and load, the fault matrix checks the copy against the posts table, row for row.)"""

from __future__ import annotations

from typing import Any

import httpx
from confluent_kafka import Producer

from connect.connector import READ_MODEL_SINK, sink_dead_letter_topic, state_topic
from deploy import parts
from deploy.native.layout import Layout
from tests.e2e.system import post, subscribe, wait_notified
from tests.e2e.test_post_changes import delete, edit
from tests.random_refs import random_id
from tests.running_stack import (
    CONNECT_URL,
    KAFKA,
    eventually,
    make,
    post_db_as_admin,
    read_topic,
    subscribe_db_as_admin,
    topic_end,
)

COLUMNS = "post_id, author_id, title, content, created_at, version, updated_at"


def row_query(table: str, post_id: int) -> str:
    return f"SELECT {COLUMNS} FROM {table} WHERE post_id = {int(post_id)}"  # noqa: S608 (an int)


def source_row(post_id: int) -> list[list[str]]:
    return post_db_as_admin(row_query("post_service_db.posts", post_id))


def replica_rows(post_id: int) -> list[list[str]]:
    return subscribe_db_as_admin(row_query("subscribe_service_db.post_replicas", post_id))


def wait_replicated(post_id: int, timeout_s: float = 30) -> None:
    """Returns once the replica's row (none for a deleted post) equals the post database's."""
    eventually(
        lambda: replica_rows(post_id) == source_row(post_id),
        timeout_s,
        what=f"post {post_id}'s row to reach the read model",
    )


def feed(subscriptions: httpx.Client, subscriber_id: int) -> list[dict[str, Any]]:
    response = subscriptions.get("/feed", params={"subscriber_id": subscriber_id})
    assert response.status_code == 200, response.text
    entries: list[dict[str, Any]] = response.json()
    return entries


def test_creations_edits_and_deletions_reach_the_read_model_and_the_feed(
    posts: httpx.Client, subscriptions: httpx.Client
) -> None:
    author, subscriber = random_id(), random_id()
    subscribe(subscriptions, subscriber, author)
    first = post(posts, author, "first 🦖", "its body")
    second = post(posts, author, "second", "to be edited")
    gone = post(posts, author, "gone", "to be deleted")
    wait_notified(subscriptions, subscriber, {p["event_id"] for p in (first, second, gone)})

    edited = edit(posts, second["post_id"], author, title="second, edited", content="edited body")
    delete(posts, gone["post_id"], author)

    for created in (first, second, gone):
        wait_replicated(created["post_id"])
    assert replica_rows(gone["post_id"]) == []
    (row,) = replica_rows(second["post_id"])
    assert row[2:4] + row[5:6] == ["second, edited", "edited body", "2"]

    entries = feed(subscriptions, subscriber)
    assert [e["post_id"] for e in entries] == [second["post_id"], first["post_id"]]  # newest first
    newest = entries[0]
    assert (newest["title"], newest["content"]) == ("second, edited", "edited body")
    assert (newest["version"], newest["updated_at"]) == (2, edited["updated_at"])
    assert (entries[1]["title"], entries[1]["content"]) == ("first 🦖", "its body")
    assert entries[1]["created_at"] == first["created_at"]


def test_the_feed_of_a_subscriber_without_notifications_is_empty(
    subscriptions: httpx.Client,
) -> None:
    assert feed(subscriptions, random_id()) == []


def test_a_change_event_the_sink_cannot_read_is_set_aside_and_the_sink_goes_on(
    posts: httpx.Client,
) -> None:
    marker = f"not JSON {random_id()}".encode()
    dead_letters = sink_dead_letter_topic(READ_MODEL_SINK)
    start = topic_end(dead_letters)
    producer = Producer({"bootstrap.servers": KAFKA})
    producer.produce(state_topic(), key=marker, value=b"\xff{" + marker)
    assert producer.flush(10) == 0

    read = read_topic(dead_letters, start, lambda message: message.key() == marker, 60)
    (dead,) = [message for message in read if message.key() == marker]
    headers = dict(dead.headers() or [])
    assert headers["__connect.errors.topic"] == state_topic().encode()
    assert headers["__connect.errors.stage"] == b"KEY_CONVERTER"
    assert headers["__connect.errors.class.name"] == b"org.apache.kafka.connect.json.JsonConverter"
    after = post(posts, random_id(), "after a change event the sink could not read")
    wait_replicated(after["post_id"])
    status = httpx.get(f"{CONNECT_URL}/connectors/{READ_MODEL_SINK}/status").json()
    assert [task["state"] for task in status["tasks"]] == ["RUNNING"]


def test_the_sink_rides_out_the_subscribe_databases_outage(posts: httpx.Client) -> None:
    # A write that fails on a lost connection is retried until the database is back; with
    # Debezium's defaults (no connection.restart.on.errors, 5 retries) the task FAILED for good.
    connect_log = Layout.from_env().logs / "connect.log"
    seen = len(connect_log.read_text().splitlines())
    author = random_id()
    make("stop-subscribe-db")
    try:
        during = post(posts, author, "made while the read model's database is down")

        def sink_retrying() -> bool:
            lines = connect_log.read_text().splitlines()[seen:]
            return any("Retry" in line and "JdbcChangeEventSink" in line for line in lines)

        eventually(sink_retrying, 120, interval_s=1, what="the sink to retry its write")
    finally:
        make("start-subscribe-db")
    wait_replicated(during["post_id"], timeout_s=120)
    status = httpx.get(f"{CONNECT_URL}/connectors/{READ_MODEL_SINK}/status").json()
    assert [task["state"] for task in status["tasks"]] == ["RUNNING"]


def restarts_so_far() -> int:
    answer = httpx.get(parts.CONNECTOR_RESTARTER.health_url)
    assert answer.status_code == 200, answer.text
    return int(answer.text.split()[1])


def sink_task_state() -> str:
    status = httpx.get(f"{CONNECT_URL}/connectors/{READ_MODEL_SINK}/status").json()
    return str(status["tasks"][0]["state"])


def test_a_sink_task_that_failed_is_restarted_and_catches_up(posts: httpx.Client) -> None:
    # An error the sink does not retry fails its task, and Kafka Connect never restarts one;
    # the connector-restarter does. (In CI the subscribe database's restart once failed it
    # mid-commit; taking the sink's rights away fails it at will.)
    rights = "INSERT, UPDATE ON subscribe_service_db.post_replicas"
    before = restarts_so_far()
    subscribe_db_as_admin(f"REVOKE {rights} FROM 'read_model_sink'@'%'")
    try:
        stuck = post(posts, random_id(), "written while the sink may not write")
        eventually(lambda: sink_task_state() == "FAILED", 60, what="the sink's task to fail")
    finally:
        subscribe_db_as_admin(f"GRANT {rights} TO 'read_model_sink'@'%'")
    wait_replicated(stuck["post_id"], timeout_s=120)
    assert restarts_so_far() > before
    assert sink_task_state() == "RUNNING"
