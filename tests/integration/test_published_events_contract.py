"""The provider side of the wire contract on the real Kafka: what each relay mode puts on the
events topic carries the contract's key and headers, and a payload its JSON Schema accepts."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable

import jsonschema
import pytest
from confluent_kafka import Message
from sqlalchemy import Engine

from contract.events import (
    EVENT_ID_HEADER,
    EVENT_TYPE_HEADER,
    EVENTS_TOPIC,
    POST_CREATED,
    PostCreated,
    payload_schema,
)
from post_service.adapters.kafka import EventPublisher
from post_service.adapters.repository import SqlUnitOfWork
from post_service.domain.posts import NewPost, now
from post_service.service.posts import create_post
from subscribe_service.adapters.kafka import headers_of
from tests.random_refs import random_id
from tests.running_stack import KAFKA, read_topic, topic_end

VALIDATOR = jsonschema.Draft202012Validator(
    payload_schema(POST_CREATED), format_checker=jsonschema.FormatChecker()
)


def an_event() -> PostCreated:
    return PostCreated(uuid.uuid4(), random_id(), random_id(), f"contract 🦖 {random_id()}", now())


def cdc(post_engine: Engine) -> PostCreated:
    """Debezium's Event Router publishes the outbox row the post service wrote."""
    new_post = NewPost(random_id(), f"contract 🦖 {random_id()}", "")
    return create_post(lambda: SqlUnitOfWork(post_engine), new_post)


def polling(post_engine: Engine) -> PostCreated:
    """The polling relay publishes with EventPublisher.publish, waiting for the acks."""
    event = an_event()
    publisher = EventPublisher(KAFKA, EVENTS_TOPIC, message_timeout_ms=10_000)
    assert publisher.publish([event], timeout_s=10) == {str(event.event_id)}
    return event


def direct(post_engine: Engine) -> PostCreated:
    """Direct mode publishes after the commit, without waiting."""
    event = an_event()
    publisher = EventPublisher(KAFKA, EVENTS_TOPIC, message_timeout_ms=10_000)
    publisher.publish_and_forget(event)
    publisher.close()
    return event


@pytest.mark.parametrize("relay_mode", [cdc, polling, direct])
def test_each_relay_mode_publishes_what_the_contract_describes(
    relay_mode: Callable[[Engine], PostCreated], post_engine: Engine
) -> None:
    start = topic_end(EVENTS_TOPIC)
    event = relay_mode(post_engine)

    def is_it(message: Message) -> bool:
        return headers_of(message).get(EVENT_ID_HEADER) == str(event.event_id).encode()

    (message,) = [m for m in read_topic(EVENTS_TOPIC, start, is_it) if is_it(m)]
    assert message.key() == event.aggregate_id.encode()
    assert headers_of(message)[EVENT_TYPE_HEADER] == POST_CREATED.encode()
    payload = json.loads(message.value() or b"null")
    VALIDATOR.validate(payload)
    assert payload == event.payload()
