"""`make dlq` and `make watch-events` show whatever a message holds: a dead letter may carry any
bytes, JSON nested deeper than Python reads, or a lone surrogate, and the listing goes on."""

from __future__ import annotations

from confluent_kafka import Message

from connect.topics import heading, pretty

DEEP = b"[" * 100_000 + b"]" * 100_000


def test_any_value_is_shown_as_printable_text() -> None:
    for value in (DEEP, b'{"title": "\\ud800"}', b"\xff\xfe not utf-8", b'{"a": 1}', None):
        pretty(value).encode("utf-8")  # print() needs exactly this


def test_a_shown_value_is_json_indented_or_shortened() -> None:
    assert pretty(b'{"a": 1}') == '{\n  "a": 1\n}'
    assert pretty(b'{"title": "\\ud800"}') == '{\n  "title": "\\ud800"\n}'
    assert len(pretty(DEEP)) < 2100


def test_any_key_and_headers_are_shown_as_printable_text() -> None:
    message = Message(
        topic="t",
        partition=0,
        offset=1,
        key=b"\xff",
        value=b"",
        headers=[("h", b"\xfe"), ("n", None)],
    )
    shown = heading(message)
    shown.encode("utf-8")
    assert "key \\xff" in shown
    assert "'h': '\\\\xfe'" in shown
