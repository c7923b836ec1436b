"""Without the Event Router, Debezium's raw change events still decode to the same event."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from confluent_kafka import Message
from sqlalchemy import Engine

from connect.connector import EVENTS_CONNECTOR, RAW_CONNECTOR, raw_topic
from connect.register import RegistrationSettings, register, unregister
from contract.events import PostCreated
from post_service.adapters.repository import SqlUnitOfWork
from post_service.domain.posts import NewPost
from post_service.service.posts import create_post
from subscribe_service.adapters.kafka import headers_of
from subscribe_service.domain.events import decode
from tests.random_refs import random_id
from tests.running_stack import KAFKA, read_topic, topic_end


@pytest.fixture(scope="module")
def raw_connector() -> Iterator[None]:
    """Registered for these tests, and removed after them with its binlog position: left
    running, it would read every later test's binlog a second time."""
    settings = RegistrationSettings(
        kafka_bootstrap_servers=KAFKA, connectors=[EVENTS_CONNECTOR, RAW_CONNECTOR]
    )
    register(settings)
    yield
    unregister(settings, RAW_CONNECTOR)


def change_of(message: Message) -> dict[str, object]:
    document: dict[str, object] = json.loads(message.value() or b"{}")["payload"]
    return document


def test_a_raw_insert_decodes_to_the_event_and_its_delete_to_nothing(
    raw_connector: None, post_engine: Engine
) -> None:
    title = f"raw 🦖 {random_id()}"
    start = topic_end(raw_topic())
    event = create_post(lambda: SqlUnitOfWork(post_engine), NewPost(random_id(), title, ""))
    event_id = str(event.event_id)

    def of_this_event(message: Message) -> bool:
        change = change_of(message)
        row = change.get("before") or change.get("after")
        return isinstance(row, dict) and row.get("id") == event_id

    mine = [m for m in read_topic(raw_topic(), start, until=of_this_event) if of_this_event(m)]
    inserted = [m for m in mine if change_of(m)["op"] == "c"]
    deleted = [m for m in mine if change_of(m)["op"] == "d"]
    assert (len(inserted), len(deleted)) == (1, 1)

    received = decode(inserted[0].value(), headers_of(inserted[0]))
    assert isinstance(received, PostCreated)
    assert (received.event_id, received.post_id, received.title) == (
        event.event_id,
        event.post_id,
        title,
    )
    assert received.created_at == event.created_at
    assert decode(deleted[0].value(), headers_of(deleted[0])) is None
