"""Webhooks end to end: a subscriber registers an endpoint, an author posts, and each notification
reaches the endpoint signed (Standard Webhooks, verified by the receiver), retried after the
receiver answered 500s, the same bytes under the same `webhook-id` at every attempt: at least once
to the endpoint, exactly once after the receiver dedupes. A dispatcher killed while the receiver
holds its request loses nothing: once its lease ends, the delivery is sent again, and deduped."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from typing import Any

import httpx
import pytest

from connect.connector import EVENTS_CONNECTOR
from deploy import parts
from tests.e2e.system import notifications, post, subscribe, wait_notified
from tests.e2e.webhook_receiver import Receiver, Script, receiving
from tests.random_refs import random_id
from tests.running_stack import REPO, eventually

DISPATCHER_METRICS = parts.SUBSCRIBE_DISPATCHER.health_url


def register(subscriptions: httpx.Client, subscriber: int, receiver: Receiver) -> None:
    """Registers the receiver's endpoint and hands it the generated secret, shown only here."""
    answer = subscriptions.put(f"/subscribers/{subscriber}/endpoint", json={"url": receiver.url})
    assert answer.status_code == 200, answer.text
    receiver.secret = answer.json()["secret"]
    shown = subscriptions.get(f"/subscribers/{subscriber}/endpoint").json()
    assert shown == {"subscriber_id": subscriber, "url": receiver.url}


def settled(subscriptions: httpx.Client, subscriber: int) -> list[dict[str, Any]] | None:
    """The subscriber's deliveries once none is pending, else None."""
    listed: list[dict[str, Any]] = subscriptions.get(f"/subscribers/{subscriber}/deliveries").json()
    return listed if listed and all(d["status"] != "pending" for d in listed) else None


def delivered_metric() -> float:
    for line in httpx.get(DISPATCHER_METRICS, timeout=5).text.splitlines():
        if line.startswith('subscribe_webhook_attempts_total{outcome="delivered"}'):
            return float(line.split()[1])
    raise AssertionError("no delivered attempts metric")


def test_each_notification_reaches_the_endpoint_signed_and_once_after_dedupe_through_500s(
    posts: httpx.Client, subscriptions: httpx.Client
) -> None:
    author, subscriber, without_endpoint = random_id(), random_id(), random_id()
    delivered_before = delivered_metric()
    with receiving(Script(failures=2)) as receiver:
        register(subscriptions, subscriber, receiver)
        subscribe(subscriptions, subscriber, author)
        subscribe(subscriptions, without_endpoint, author)

        created = [post(posts, author, f"webhook {i} 🦖") for i in range(3)]
        event_ids = {c["event_id"] for c in created}

        eventually(
            lambda: set(receiver.event_ids()) == event_ids,
            timeout_s=60,
            what="three notifications to reach the endpoint",
        )

    assert sorted(receiver.event_ids()) == sorted(event_ids)  # exactly once after dedupe
    assert receiver.unverified == 0
    for attempts in receiver.attempts.values():
        assert len(attempts) == 3  # two 500s, then the 2xx
        assert len(set(attempts)) == 1  # the same bytes every time
    titles = {n["data"]["title"] for n in receiver.processed.values()}
    assert titles == {c["title"] for c in created}

    # The dispatcher records an outcome after the receiver has answered: wait for the records.
    listed = eventually(
        lambda: settled(subscriptions, subscriber), timeout_s=30, what="the outcomes recorded"
    )
    assert Counter((d["status"], d["attempts"]) for d in listed) == {("delivered", 3): 3}
    assert {d["webhook_id"] for d in listed} == set(receiver.attempts)
    eventually(lambda: delivered_metric() >= delivered_before + 3, what="the deliveries counted")
    # Both keep GET /notifications; the one without an endpoint has only that.
    wait_notified(subscriptions, without_endpoint, event_ids)
    assert {n["event_id"] for n in notifications(subscriptions, subscriber)} == event_ids
    assert subscriptions.get(f"/subscribers/{without_endpoint}/deliveries").json() == []


def native(*command: str) -> None:
    subprocess.run([sys.executable, "-m", "deploy.native", *command], cwd=REPO, check=True)


@pytest.mark.timeout(240)
def test_a_dispatcher_killed_before_it_records_a_delivery_sends_it_again_and_it_is_deduped(
    posts: httpx.Client, subscriptions: httpx.Client
) -> None:
    author, subscriber = random_id(), random_id()
    with receiving(Script(hold=True)) as receiver:
        register(subscriptions, subscriber, receiver)
        subscribe(subscriptions, subscriber, author)
        created = post(posts, author, "delivered while the dispatcher dies")
        assert receiver.script.held.wait(timeout=30), "the delivery never reached the receiver"

        native("kill", parts.SUBSCRIBE_DISPATCHER.name)  # SIGKILL: it never hears the 200
        receiver.script.release.set()
        native("start", parts.SUBSCRIBE_DISPATCHER.name)

        (webhook,) = receiver.attempts
        eventually(
            lambda: len(receiver.attempts[webhook]) >= 2,
            timeout_s=120,  # the lease, 60 s, runs out first
            what="the delivery to be sent again by the restarted dispatcher",
        )

        def recorded() -> bool:
            listed = subscriptions.get(f"/subscribers/{subscriber}/deliveries").json()
            return [d["status"] for d in listed] == ["delivered"]

        eventually(recorded, timeout_s=30, what="the delivery to be recorded as delivered")

    assert receiver.event_ids() == [created["event_id"]]
    assert receiver.duplicates == 1


def test_an_endpoint_on_the_stacks_own_address_is_refused_and_a_name_for_it_never_connected_to(
    posts: httpx.Client, subscriptions: httpx.Client
) -> None:
    # Kafka Connect's REST API, on 127.0.0.1 as every part of the stack: a POST there restarts
    # the connector. Only 127.0.0.2, where the receivers listen, is allowed besides public ones.
    author, subscriber = random_id(), random_id()
    restart = f"{parts.CONNECT.url}/connectors/{EVENTS_CONNECTOR}/restart"
    endpoint = f"/subscribers/{subscriber}/endpoint"
    refused = subscriptions.put(endpoint, json={"url": restart})
    assert refused.status_code == 422, refused.text
    (problem,) = refused.json()["detail"]
    assert problem["loc"] == ["body", "url"]
    assert "127.0.0.1" in problem["msg"]
    # A name is taken: what it resolves to is checked at each attempt, before any connection.
    named = restart.replace(parts.CONNECT.host, "localhost")
    assert subscriptions.put(endpoint, json={"url": named}).status_code == 200
    try:
        subscribe(subscriptions, subscriber, author)
        post(posts, author, "to Kafka Connect's REST API?")

        def refused_attempt() -> str:
            deliveries = subscriptions.get(f"/subscribers/{subscriber}/deliveries").json()
            return " ".join(str(d["last_error"]) for d in deliveries if d["last_error"])

        eventually(
            lambda: "localhost resolves only to addresses that" in refused_attempt(),
            timeout_s=30,
            what="the dispatcher's attempt to fail at the name's resolution",
        )
        assert "may not receive webhooks" in refused_attempt()
    finally:
        subscriptions.delete(endpoint)
