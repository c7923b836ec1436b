"""The bounds the domain states for what it accepts, so that the database can store all of it:
hostile JSON is an InvalidEvent, never an exception the consumer did not expect."""

from __future__ import annotations

import json
from uuid import uuid4

import pytest

from contract.events import TITLE_MAX_CHARS, PostCreated
from subscribe_service.domain.events import InvalidEvent, decode

HEADERS = {"id": str(uuid4()).encode(), "eventType": b"PostCreated"}
GOOD = b'"post_id": 1, "author_id": 1, "created_at": "2026-11-21T23:15:48.082748Z"'


def with_title(title: bytes) -> bytes:
    """A payload whose title is the raw JSON given, as any producer could write it."""
    return b'{"title": ' + title + b", " + GOOD + b"}"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (with_title(b'"\\ud800"'), "not valid Unicode"),  # a lone surrogate: UTF-8 has none
        (with_title(b'"ok \\udfff"'), "not valid Unicode"),
        (with_title(b'"' + b"x" * (TITLE_MAX_CHARS + 1) + b'"'), "title must have"),
        (with_title(b"12"), "title must be a string"),
        (with_title(b'{"a": [1]}'), "title must be a string"),
        (with_title(b"null"), "title must be a string"),
        (b'{"post_id": 1' + b"0" * 5000 + b"}", "not JSON"),  # more digits than Python reads
        (json.dumps({"post_id": 10**400}).encode(), "positive integer"),
        (json.dumps({"post_id": 1.5}).encode(), "positive integer"),
    ],
)
def test_what_the_database_could_not_store_is_an_invalid_event(value: bytes, reason: str) -> None:
    with pytest.raises(InvalidEvent, match=reason):
        decode(value, HEADERS)


def test_a_title_with_every_plane_of_unicode_and_a_nul_is_accepted() -> None:
    title = "nul \x00 bmp \uffff astral \U0010fffd 🦖"
    event = decode(with_title(json.dumps(title).encode()), HEADERS)
    assert isinstance(event, PostCreated)
    assert event.title == title


@pytest.mark.parametrize("created_at", ["true", "[2026]", "1.5e9"])
def test_a_timestamp_of_the_wrong_type_is_an_invalid_event(created_at: str) -> None:
    value = b'{"post_id": 1, "author_id": 1, "title": "t", "created_at": ' + created_at.encode()
    with pytest.raises(InvalidEvent, match="created_at"):
        decode(value + b"}", HEADERS)


def test_an_event_id_of_the_wrong_type_is_an_invalid_event() -> None:
    row = {"event_id": [1], "post_id": 1, "author_id": 1, "title": "t", "created_at": 0}
    change = {"op": "c", "after": row}
    with pytest.raises(InvalidEvent, match="event id"):
        decode(json.dumps(change).encode(), {})


def test_an_error_shows_a_huge_or_deep_value_shortened() -> None:
    deep: object = "bottom"
    for _ in range(500):
        deep = [deep]
    value = json.dumps({"post_id": deep, "author_id": 1}).encode()
    with pytest.raises(InvalidEvent) as raised:
        decode(value, HEADERS)
    huge_type = {**HEADERS, "eventType": b"x" * 1_000_000}
    with pytest.raises(InvalidEvent) as raised_too:
        decode(b"{}", huge_type)
    assert len(str(raised.value)) < 200
    assert len(str(raised_too.value)) < 200
