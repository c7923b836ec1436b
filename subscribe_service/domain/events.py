"""A post's events (PostCreated, PostUpdated, PostDeleted) as they arrive from Kafka, in either of
the two shapes the connector can give them.

- From Debezium's Outbox Event Router (the default): the value is the event's JSON payload, the
  event id is in the `id` header and the event type in `eventType`.
- From a connector without the router, Debezium's raw change event: {"before", "after", "op", ...},
  optionally wrapped as {"schema", "payload"}; `after` is the outbox row. Only inserts (c) and
  snapshot reads (r) carry a new event; the outbox row's delete (d) is skipped.

What it accepts, the subscribe database can store, so that the database never refuses an event:
ids from 1 to ID_MAX (a signed BIGINT), versions from 1 to VERSION_MAX (a signed INT; a change's
from 2), moments from EARLIEST to LATEST (a DATETIME), and a title of 1 to TITLE_MAX_CHARS
characters that UTF-8 can encode. Anything else is an InvalidEvent.
"""

from __future__ import annotations

import json
import reprlib
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
    POST_DELETED,
    POST_UPDATED,
    TITLE_MAX_CHARS,
    VERSION_MAX,
    PostCreated,
    PostDeleted,
    PostEvent,
    PostUpdated,
)


class InvalidEvent(ValueError):
    """A message that can never be applied: it goes to the dead-letter topic."""


def decode(value: bytes | None, headers: Mapping[str, bytes]) -> PostEvent | None:
    """The event a message carries, None for a message that carries none (a delete, a tombstone)."""
    if value is None:
        return None
    try:
        document = json.loads(value)
    except ValueError as error:  # not UTF-8, not JSON, or a number of over 4300 digits
        raise InvalidEvent(f"value is not JSON: {error}") from error
    if not isinstance(document, dict):
        raise InvalidEvent("value is not a JSON object")
    if EVENT_ID_HEADER in headers:
        event_type = _text(headers.get(EVENT_TYPE_HEADER, POST_CREATED.encode()))
        return from_payload(_text(headers[EVENT_ID_HEADER]), event_type, document)
    return from_change_event(document)


def from_change_event(document: dict[str, Any]) -> PostEvent | None:
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
            except ValueError as error:
                raise InvalidEvent(f"outbox payload is not JSON: {error}") from error
        return from_payload(row.get("id"), row.get("type", POST_CREATED), payload)
    # The tutorial's outbox table, whose row is the event itself.
    return from_payload(row.get("event_id"), POST_CREATED, row)


def from_payload(event_id: object, event_type: object, payload: object) -> PostEvent:
    if event_type not in (POST_CREATED, POST_UPDATED, POST_DELETED):
        raise InvalidEvent(f"unknown event type {_shown(event_type)}")
    if not isinstance(payload, dict):
        raise InvalidEvent("payload is not a JSON object")
    try:
        event_id_ = _uuid(event_id)
        post_id = _positive_int(payload["post_id"])
        author_id = _positive_int(payload["author_id"])
        if event_type == POST_CREATED:
            return PostCreated(
                event_id_,
                post_id,
                author_id,
                title=_title(payload["title"]),
                created_at=_timestamp(payload["created_at"], "created_at"),
                # Events written before versions have none: they were every post's first.
                version=_version(payload.get("version", 1), first=1),
            )
        if event_type == POST_UPDATED:
            return PostUpdated(
                event_id_,
                post_id,
                author_id,
                title=_title(payload["title"]),
                version=_version(payload["version"], first=2),
                updated_at=_timestamp(payload["updated_at"], "updated_at"),
            )
        return PostDeleted(
            event_id_,
            post_id,
            author_id,
            version=_version(payload["version"], first=2),
            deleted_at=_timestamp(payload["deleted_at"], "deleted_at"),
        )
    except KeyError as error:
        raise InvalidEvent(f"payload has no field {error}") from error
    except ValueError as error:
        raise InvalidEvent(str(error)) from error


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")


def _shown(value: object) -> str:
    """A value in an error message: shortened, and never nested deeper than a few levels."""
    return reprlib.repr(value)


def _uuid(value: object) -> UUID:
    if not isinstance(value, str):
        raise ValueError(f"event id must be a UUID string, got {_shown(value)}")
    return UUID(value)


def _positive_int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= ID_MAX:
        raise ValueError(f"expected a positive integer up to {ID_MAX}, got {_shown(value)}")
    return value


def _version(value: object, first: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not first <= value <= VERSION_MAX:
        raise ValueError(
            f"version must be an integer from {first} to {VERSION_MAX}, got {_shown(value)}"
        )
    return value


def _title(value: object) -> str:
    """Text the subscribe database can store: a string of 1 to TITLE_MAX_CHARS characters, and
    Unicode that UTF-8 can encode. JSON can carry a lone surrogate ("\\ud800"), UTF-8 cannot."""
    if not isinstance(value, str):
        raise ValueError(f"title must be a string, got {_shown(value)}")
    if not 1 <= len(value) <= TITLE_MAX_CHARS:
        raise ValueError(f"title must have 1 to {TITLE_MAX_CHARS} characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        raise ValueError(f"title is not valid Unicode: {error.reason} at {error.start}") from error
    return value


def _timestamp(value: object, name: str) -> datetime:
    try:
        if isinstance(value, int) and not isinstance(value, bool):
            # Debezium's MicroTimestamp, from a row without a JSON payload
            moment = datetime.fromtimestamp(value / 1_000_000, UTC)
        elif isinstance(value, str):
            moment = datetime.fromisoformat(value)
            moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
        else:
            raise ValueError(f"{name} must be an ISO 8601 string, got {_shown(value)}")
    except (OverflowError, OSError) as error:  # beyond what datetime can hold
        raise ValueError(f"{name} out of range: {_shown(value)}") from error
    if not EARLIEST <= moment <= LATEST:
        raise ValueError(f"{name} must lie in the years {EARLIEST.year} to {LATEST.year} (UTC)")
    return moment
