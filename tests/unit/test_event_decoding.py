"""Decoding post events from both shapes the connector can produce, and refusing poison."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from uuid import uuid4

import pytest

from contract.events import PostCreated
from subscribe_service.domain.events import InvalidEvent, decode

EVENT_ID = uuid4()
PAYLOAD = {
    "post_id": 7,
    "author_id": 3,
    "title": "안녕 🦖",
    "created_at": "2026-11-21T23:15:48.082748Z",
}
EXPECTED = PostCreated(
    EVENT_ID, 7, 3, "안녕 🦖", datetime(2026, 11, 21, 23, 15, 48, 82748, tzinfo=UTC)
)
ROUTER_HEADERS = {"id": str(EVENT_ID).encode(), "eventType": b"PostCreated"}


def outbox_row(payload: object) -> dict[str, object]:
    return {
        "id": str(EVENT_ID),
        "aggregatetype": "post",
        "aggregateid": "7",
        "type": "PostCreated",
        "payload": payload,
        "created_at": 1795302948082748,
    }


def test_an_event_router_message_decodes_from_its_payload_and_id_header() -> None:
    assert decode(json.dumps(PAYLOAD).encode(), ROUTER_HEADERS) == EXPECTED


def test_a_raw_debezium_insert_decodes_from_its_after_row() -> None:
    change = {"before": None, "after": outbox_row(json.dumps(PAYLOAD)), "op": "c"}
    assert decode(json.dumps(change).encode(), {}) == EXPECTED


def test_a_raw_debezium_event_with_its_schema_wrapper_decodes_too() -> None:
    change = {"schema": {}, "payload": {"before": None, "after": outbox_row(PAYLOAD), "op": "r"}}
    assert decode(json.dumps(change).encode(), {}) == EXPECTED


def test_the_tutorials_flat_outbox_row_decodes() -> None:
    row = {"event_id": str(EVENT_ID), **PAYLOAD}
    change = {"schema": {}, "payload": {"before": None, "after": row, "op": "c"}}
    assert decode(json.dumps(change).encode(), {}) == EXPECTED


def test_the_outbox_rows_delete_carries_no_event() -> None:
    change = {"before": outbox_row(PAYLOAD), "after": None, "op": "d"}
    assert decode(json.dumps(change).encode(), {}) is None


def test_a_tombstone_carries_no_event() -> None:
    assert decode(None, {}) is None


@pytest.mark.parametrize(
    ("value", "headers", "reason"),
    [
        (b"not json", ROUTER_HEADERS, "not JSON"),
        (b"\xff\xfe", ROUTER_HEADERS, "not JSON"),
        (b"[1, 2]", ROUTER_HEADERS, "not a JSON object"),
        (json.dumps({"post_id": 7}).encode(), ROUTER_HEADERS, "no field"),
        (json.dumps(PAYLOAD).encode(), {**ROUTER_HEADERS, "eventType": b"PostMoved"}, "unknown"),
        (json.dumps(PAYLOAD).encode(), {**ROUTER_HEADERS, "eventType": b"PostDeleted"}, "no field"),
        (json.dumps({**PAYLOAD, "version": 0}).encode(), ROUTER_HEADERS, "version"),
        (json.dumps(PAYLOAD).encode(), {"id": b"not-a-uuid"}, "UUID"),
        (json.dumps({**PAYLOAD, "author_id": -1}).encode(), ROUTER_HEADERS, "positive"),
        (json.dumps({**PAYLOAD, "author_id": True}).encode(), ROUTER_HEADERS, "positive"),
        (json.dumps({**PAYLOAD, "title": "x" * 201}).encode(), ROUTER_HEADERS, "title"),
        (json.dumps({**PAYLOAD, "created_at": "yesterday"}).encode(), ROUTER_HEADERS, "format"),
        (json.dumps({"hello": "world"}).encode(), {}, "neither"),
    ],
)
def test_a_message_that_can_never_be_applied_is_invalid(
    value: bytes, headers: dict[str, bytes], reason: str
) -> None:
    with pytest.raises(InvalidEvent, match=reason):
        decode(value, headers)
