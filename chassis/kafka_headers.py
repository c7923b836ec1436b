"""A Kafka message's headers, read safely whatever bytes a producer wrote as their keys.

Kafka's header keys are strings, but a producer in another language may write any bytes there, and
confluent-kafka 2.16.1 cannot decode a key that is not UTF-8: its C code stores a NULL where the
key should be and returns the list with the decoding error still pending. Python turns that into a
SystemError, but only on a call it checks: once the interpreter has specialised a hot
`message.headers()` call site (3.11's adaptive bytecode), the check is skipped, the list comes
back, and reading its NULL key kills the process (seen in a replay of 6,378 messages; a
consumer would crash on the same message at every restart). So the call goes through
operator.methodcaller, which Python always checks, and the broken list is replaced before anyone
reads it (tests/e2e/test_header_keys.py writes such keys with a Go producer)."""

from __future__ import annotations

import operator
from typing import Final

from confluent_kafka import Message

HeaderPairs = list[tuple[str, str | bytes | None]]  # as Producer.produce takes them

_READ_HEADERS: Final = operator.methodcaller("headers")


class UnreadableHeaders(ValueError):
    """A header key is not UTF-8: the client cannot read the message's headers."""


def header_pairs(message: Message) -> HeaderPairs:
    """A message's headers as they were: duplicates and order kept. Raises UnreadableHeaders if a
    key is not UTF-8; from then on the message has no headers (so that a dead letter can carry it,
    without them)."""
    try:
        raw = _READ_HEADERS(message) or []
    except SystemError as error:
        message.set_headers([])
        raise UnreadableHeaders(f"a header key is not UTF-8 ({error.__cause__})") from error
    return list(raw.items()) if isinstance(raw, dict) else list(raw)
