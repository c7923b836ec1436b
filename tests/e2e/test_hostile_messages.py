"""Whatever lands on the events topic, the consumer goes on. Hypothesis writes arbitrary bytes and
arbitrary JSON to the running stack's events topic, with arbitrary headers: nested deeper than
Python reads, numbers of thousands of digits, lone surrogates, every field of the wrong type or out
of its bounds, Debezium's change events as well as the router's. Each message is then, as the
domain's own decoding says of it: dead-lettered with its error and its headers, skipped (it
carries no event), or applied once; and a real post made after them reaches its subscriber."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from confluent_kafka import Message, Producer
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from chassis.kafka_headers import HeaderPairs, header_pairs
from contract.events import DEAD_LETTER_TOPIC, EVENTS_TOPIC, ID_MAX, TITLE_MAX_CHARS
from subscribe_service.adapters.kafka import headers_of
from subscribe_service.adapters.tables import processed_events
from subscribe_service.bootstrap import bootstrap
from subscribe_service.domain.events import decode
from subscribe_service.settings import Settings
from tests.contract.strategies import post_created_payloads
from tests.e2e.system import post, subscribe, wait_notified
from tests.random_refs import FOREIGN_IDS_FROM, random_id
from tests.running_stack import KAFKA, eventually, read_topic, topic_end

MARKER = "hostile.marker"  # which run, and which message of it: added after the arbitrary ones
PARTITIONS = 3


@dataclass(frozen=True)
class Digits:
    """A JSON number of more digits than Python reads by default (4300)."""

    count: int


@dataclass(frozen=True)
class Deep:
    """An array nested far deeper than Python's recursion limit."""

    depth: int


def to_json(value: object) -> str:
    """As any producer may write it: json.dumps escapes a lone surrogate as "\\ud800"."""
    if isinstance(value, Digits):
        return "9" * value.count
    if isinstance(value, Deep):
        return "[" * value.depth + "]" * value.depth
    if isinstance(value, list):
        return "[" + ",".join(map(to_json, value)) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{to_json(v)}" for k, v in value.items()) + "}"
    return json.dumps(value)


surrogates = st.text(st.characters(categories=["Cs"]), min_size=1, max_size=3)
hostile = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(ID_MAX + 1, 2**80) | st.integers(-(2**80), 0),
    st.floats(),
    st.builds(Digits, st.integers(4301, 20_000)),
    st.builds(Deep, st.integers(5_000, 50_000)),
    st.text(max_size=20),
    surrogates,
    st.text(min_size=TITLE_MAX_CHARS + 1, max_size=TITLE_MAX_CHARS + 5),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)
good_ids = st.integers(FOREIGN_IDS_FROM, ID_MAX)
good_titles = st.text(min_size=1, max_size=TITLE_MAX_CHARS)
good_moments = st.sampled_from(
    ["2026-11-21T23:15:48.082748Z", "1000-01-01T00:00:00.000000Z", "2026-11-21T23:15:48+09:00"]
)


def field(good: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    return st.one_of(good, hostile)


def foreign(payload: dict[str, object]) -> dict[str, object]:
    """The payload with ids that could be another test's post or author moved above them all:
    an event applied here must not change what another test sees."""
    return {
        key: value + FOREIGN_IDS_FROM
        if key in ("post_id", "author_id") and type(value) is int and 0 < value < FOREIGN_IDS_FROM
        else value
        for key, value in payload.items()
    }


payloads = st.fixed_dictionaries(
    {
        "post_id": field(good_ids),
        "author_id": field(good_ids),
        "title": field(good_titles | surrogates.map(lambda s: f"a{s}b")),
        "created_at": field(good_moments | st.integers(-(2**70), 2**70)),
    },
    optional={"extra": hostile},
).map(foreign)
change_events = st.fixed_dictionaries(
    {
        "op": st.sampled_from(["c", "r", "u", "d"]) | hostile,
        "after": st.one_of(
            payloads.map(lambda p: {"event_id": str(uuid.uuid4()), **p}),
            st.fixed_dictionaries({"id": st.uuids().map(str) | hostile, "payload": payloads}),
            st.fixed_dictionaries({"payload": payloads.map(to_json), "type": hostile}),
            hostile,
        ),
    }
).flatmap(lambda e: st.sampled_from([e, {"schema": {}, "payload": e}]))
documents = st.one_of(payloads, change_events, hostile)
values = st.one_of(
    documents.map(lambda d: to_json(d).encode()),
    st.binary(max_size=300),
    st.none(),  # a tombstone: no event, nothing to dead-letter
)
header_values = st.one_of(
    st.none(),
    st.binary(max_size=40),
    st.uuids().map(lambda u: str(u).encode()),
    st.just(b"PostCreated"),
)
# librdkafka's header keys are C strings: a NUL would end the key on the way in already. A lone
# surrogate has no UTF-8 form, and confluent-kafka 2.16.1's produce() dies of a segmentation fault
# on one in a header key instead of raising: no client of ours can write such a key.
header_keys = st.sampled_from(["id", "eventType"]) | st.text(
    st.characters(exclude_characters=["\x00"], exclude_categories=["Cs"]), max_size=10
)
arbitrary_headers = st.lists(st.tuples(header_keys, header_values), max_size=4)
router_headers = st.tuples(arbitrary_headers, st.uuids()).map(
    lambda drawn: [*drawn[0], ("id", str(drawn[1]).encode()), ("eventType", b"PostCreated")]
)
messages = st.one_of(
    st.tuples(values, arbitrary_headers),
    # As the Event Router writes them, with hostile fields among good ones.
    st.tuples(payloads.map(lambda p: to_json(p).encode()), router_headers),
    # What the contract allows, at its bounds: the database must store every one of them.
    st.tuples(
        post_created_payloads().map(foreign).map(lambda p: json.dumps(p).encode()), router_headers
    ),
)


def fate(value: bytes | None, headers: HeaderPairs) -> str | uuid.UUID:
    """What the consumer must do with a message, as its own decoding says: the event's id when it
    carries one, "dead" when it cannot be applied, "skipped" when it carries none."""
    seen = Message(topic=EVENTS_TOPIC, partition=0, offset=0, value=value, headers=headers)
    try:
        event = decode(value, headers_of(seen))
    except Exception:
        return "dead"
    return "skipped" if event is None else event.event_id


@pytest.fixture(scope="module")
def subscribe_db() -> Iterator[Engine]:
    deps = bootstrap(Settings())
    yield deps.engine
    deps.engine.dispose()


@settings(
    max_examples=15,
    database=None,
    # Each example is a round trip through the whole stack: a failing batch is shown as it came,
    # not shrunk over minutes.
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(batch=st.lists(messages, min_size=PARTITIONS, max_size=20))
def test_no_message_stops_the_consumer_and_each_bad_one_is_dead_lettered_with_its_error(
    posts: httpx.Client,
    subscriptions: httpx.Client,
    subscribe_db: Engine,
    batch: list[tuple[bytes | None, HeaderPairs]],
) -> None:
    marker = str(uuid.uuid4())
    sent = [
        (value, [*headers, (MARKER, f"{marker} {n}".encode())])
        for n, (value, headers) in enumerate(batch)
    ]
    fates = [fate(value, headers) for value, headers in sent]
    for kind in {"applied" if isinstance(f, uuid.UUID) else f for f in fates}:
        event(f"a message {kind}")  # --hypothesis-show-statistics counts them
    start = topic_end(DEAD_LETTER_TOPIC)
    producer = Producer({"bootstrap.servers": KAFKA})
    for n, (value, headers) in enumerate(sent):  # every partition gets some
        producer.produce(EVENTS_TOPIC, value, b"hostile", partition=n % PARTITIONS, headers=headers)
    assert producer.flush(30) == 0

    author, subscriber = random_id(), random_id()
    subscribe(subscriptions, subscriber, author)
    after = post(posts, author, "after the hostile messages")
    wait_notified(subscriptions, subscriber, {after["event_id"]})

    dead = {n for n, f in enumerate(fates) if f == "dead"}
    letters = dead_letters_of(marker, start, expected=dead)
    assert set(letters) == dead
    for n in dead:
        value, headers = sent[n]
        letter = letters[n]
        assert letter.value() == value
        assert header_pairs(letter)[: len(headers)] == headers  # as they were, duplicates too
        assert headers_of(letter)["dlq.error"]
    applied = {f for f in fates if isinstance(f, uuid.UUID)}
    eventually(lambda: in_the_inbox(subscribe_db, applied), what="the valid events applied")


def dead_letters_of(marker: str, start: dict[int, int], expected: set[int]) -> dict[int, Message]:
    """This run's dead letters by the number of the message they carry, once all expected came."""
    found: dict[int, Message] = {}

    def note(letter: Message) -> bool:
        run, _, number = headers_of(letter).get(MARKER, b"").decode().partition(" ")
        if run == marker:
            found[int(number)] = letter
        return expected <= set(found)

    if expected:
        read_topic(DEAD_LETTER_TOPIC, start, until=note)
    return found


def in_the_inbox(engine: Engine, event_ids: set[uuid.UUID]) -> bool:
    if not event_ids:
        return True
    wanted = [str(event_id) for event_id in event_ids]
    with engine.connect() as connection:
        query = select(processed_events.c.event_id).where(processed_events.c.event_id.in_(wanted))
        return set(connection.scalars(query)) == set(wanted)
