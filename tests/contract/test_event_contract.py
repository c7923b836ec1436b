"""Both sides of the wire contract against its JSON Schema, as Pact splits consumer and provider:
what the post service publishes validates, and whatever validates, the consumer applies."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from hypothesis import given

from connect.connector import EVENTS_CONNECTOR, Flavour, events_topic, render
from contract.events import (
    AGGREGATE_TYPE,
    EVENT_ID_HEADER,
    EVENT_TYPE_HEADER,
    EVENT_TYPES,
    EVENTS_TOPIC,
    ID_MAX,
    POST_CREATED,
    TITLE_MAX_CHARS,
    VERSION_MAX,
    PostCreated,
    PostEvent,
    payload_schema,
)
from subscribe_service.domain.events import InvalidEvent, decode
from tests.contract.strategies import post_created_events, post_created_payloads, post_events

SCHEMA = payload_schema(POST_CREATED)
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker())
VALIDATORS = {
    event_type: jsonschema.Draft202012Validator(
        payload_schema(event_type), format_checker=jsonschema.FormatChecker()
    )
    for event_type in EVENT_TYPES
}


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_each_schema_is_a_valid_json_schema(event_type: str) -> None:
    jsonschema.Draft202012Validator.check_schema(payload_schema(event_type))


@given(post_events())
def test_every_event_the_post_service_can_raise_validates(event: PostEvent) -> None:
    # Every relay mode writes event.payload(): cdc into the outbox row that Debezium's router
    # expands, polling and direct straight to Kafka (tests/integration checks the topic).
    VALIDATORS[event.event_type].validate(json.loads(json.dumps(event.payload())))


@given(post_events())
def test_the_consumer_applies_every_schema_valid_payload_of_each_type(event: PostEvent) -> None:
    payload = json.loads(json.dumps(event.payload()))
    VALIDATORS[event.event_type].validate(payload)
    headers = {
        EVENT_ID_HEADER: str(event.event_id).encode(),
        EVENT_TYPE_HEADER: event.event_type.encode(),
    }
    assert decode(json.dumps(payload).encode(), headers) == event


@given(post_created_payloads(), post_created_events())
def test_the_consumer_applies_a_post_created_written_before_versions(
    payload: dict[str, Any], envelope: PostCreated
) -> None:
    del payload["version"]
    VALIDATOR.validate(payload)
    event = decode(json.dumps(payload).encode(), {EVENT_ID_HEADER: str(envelope.event_id).encode()})
    assert isinstance(event, PostCreated)
    assert (event.event_id, event.version) == (envelope.event_id, 1)


def with_field(field: str, value: object) -> dict[str, object]:
    good = {"post_id": 1, "author_id": 1, "title": "t", "created_at": "2026-11-21T23:15:48.082748Z"}
    return {**good, field: value}


OUT_OF_BOUNDS = [
    ("post_id", ID_MAX + 1),
    ("author_id", 0),
    ("title", ""),
    ("title", "x" * (TITLE_MAX_CHARS + 1)),
    ("created_at", "0999-12-31T23:59:59.999999Z"),
    ("created_at", "9999-12-31T23:59:59.999999-01:00"),  # in UTC, the year 10000
    ("version", 0),
    ("version", VERSION_MAX + 1),
]


@pytest.mark.parametrize(("field", "value"), OUT_OF_BOUNDS)
def test_what_the_schema_bounds_the_consumer_refuses(field: str, value: object) -> None:
    payload = with_field(field, value)
    assert not VALIDATOR.is_valid(payload)
    headers = {EVENT_ID_HEADER: b"0b4ad33c-7d6b-4c3b-9d3c-1b1c5e1b0c55"}
    with pytest.raises(InvalidEvent):
        decode(json.dumps(payload).encode(), headers)


def test_the_schema_asks_for_utc_with_microseconds_as_the_post_service_writes() -> None:
    # The consumer is more tolerant: Debezium's raw rows and older producers write other forms.
    assert not VALIDATOR.is_valid(with_field("created_at", "2026-11-21T23:15:48+09:00"))


def test_the_connector_routes_post_events_to_the_contracts_topic_and_headers() -> None:
    config = render(
        EVENTS_CONNECTOR, Flavour.MARIADB, database_host="db", database_port=1,
        kafka_bootstrap_servers="kafka:9092",
    )  # fmt: skip
    assert events_topic(AGGREGATE_TYPE) == EVENTS_TOPIC
    assert config["transforms.outbox.table.fields.additional.placement"] == (
        f"type:header:{EVENT_TYPE_HEADER}"
    )
