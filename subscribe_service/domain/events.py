"""PostCreated as it arrives from Kafka, in either of the two shapes the connector can give it.

- From Debezium's Outbox Event Router (the default): the value is the event's JSON payload, the
  event id is in the `id` header and the event type in `eventType`.
- From a connector without the router, Debezium's raw change event: {"before", "after", "op", ...},
  optionally wrapped as {"schema", "payload"}; `after` is the outbox row. Only inserts (c) and
  snapshot reads (r) carry a new event; the outbox row's delete (d) is skipped.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from contract.events import (
    EARLIEST,
    EVENT_ID_HEADER,
    EVENT_TYPE_HEADER,
    ID_MAX,
    LATEST,
    POST_CREATED,
    TITLE_MAX_CHARS,
    PostCreated,
)


class InvalidEvent(ValueError):
    """A message that can never be applied: it goes to the dead-letter topic."""


def decode(value: bytes | None, headers: Mapping[str, bytes]) -> PostCreated | None:
    """The event a message carries, None for a message that carries none (a delete, a tombstone)."""
    if value is None:
        return None
    try:
        document = json.loads(value)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InvalidEvent(f"value is not JSON: {error}") from error
    if not isinstance(document, dict):
        raise InvalidEvent("value is not a JSON object")
    if EVENT_ID_HEADER in headers:
        event_type = _text(headers.get(EVENT_TYPE_HEADER, POST_CREATED.encode()))
        return from_payload(_text(headers[EVENT_ID_HEADER]), event_type, document)
    return from_change_event(document)


def from_change_event(document: dict[str, Any]) -> PostCreated | None:
    envelope = document.get("payload") if "schema" in document else document
    if not isinstance(envelope, dict) or "op" not in envelope:
        raise InvalidEvent("neither an outbox event (no id header) nor a Debezium change event")
    if envelope["op"] not in ("c", "r", "u"):
        return None
    row = envelope.get("after")
    if not isinstance(row, dict):
        raise InvalidEvent(f"change event with op {envelope['op']!r} has no 'after' row")
    if "payload" in row:  # our outbox table: id, aggregatetype, aggregateid, type, payload
        payload = row["payload"]
        if isinstance(payload, str):  # a JSON column arrives as a string without the router
            try:
                payload = json.loads(payload)
            except json.JSONDecodeError as error:
                raise InvalidEvent(f"outbox payload is not JSON: {error}") from error
        return from_payload(row.get("id"), row.get("type", POST_CREATED), payload)
    # The tutorial's outbox table, whose row is the event itself.
    return from_payload(row.get("event_id"), POST_CREATED, row)


def from_payload(event_id: object, event_type: str, payload: object) -> PostCreated:
    if event_type != POST_CREATED:
        raise InvalidEvent(f"unknown event type {event_type!r}")
    if not isinstance(payload, dict):
        raise InvalidEvent("payload is not a JSON object")
    try:
        event = PostCreated(
            event_id=UUID(str(event_id)),
            post_id=_positive_int(payload["post_id"]),
            author_id=_positive_int(payload["author_id"]),
            title=str(payload["title"]),
            created_at=_timestamp(payload["created_at"]),
        )
    except KeyError as error:
        raise InvalidEvent(f"payload has no field {error}") from error
    except ValueError as error:
        raise InvalidEvent(str(error)) from error
    if not 1 <= len(event.title) <= TITLE_MAX_CHARS:
        raise InvalidEvent(f"title must have 1 to {TITLE_MAX_CHARS} characters")
    return event


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")


def _positive_int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= ID_MAX:
        raise ValueError(f"expected a positive integer up to {ID_MAX}, got {value!r}")
    return value


def _timestamp(value: object) -> datetime:
    try:
        if isinstance(value, int):  # Debezium's MicroTimestamp, from a row without a JSON payload
            moment = datetime.fromtimestamp(value / 1_000_000, UTC)
        else:
            moment = datetime.fromisoformat(str(value))
            moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (OverflowError, OSError) as error:  # beyond what datetime can hold
        raise ValueError(f"created_at out of range: {value!r}") from error
    if not EARLIEST <= moment <= LATEST:
        raise ValueError(f"created_at must lie in the years {EARLIEST.year} to {LATEST.year} (UTC)")
    return moment
