"""A header key that is not UTF-8 is dead-lettered, and the consumer goes on.

Kafka's header keys are strings on the wire, but a producer in another language may write any
bytes there, and confluent-kafka cannot read such a key: it raises a SystemError once, then crashes
the process when the message's headers are read again (as the dead letter must). No Python client
can write such a key, so a small Go producer (tests/e2e/raw_producer, franz-go) writes it, byte for
byte; hypothesis draws the keys."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import uuid
from pathlib import Path

import httpx
import pytest
from confluent_kafka import Message
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from contract.events import DEAD_LETTER_TOPIC, EVENTS_TOPIC
from deploy.native.layout import Layout
from subscribe_service.adapters.kafka import headers_of
from tests.e2e.system import notifications, post, subscribe, wait_notified
from tests.random_refs import random_id
from tests.running_stack import KAFKA, read_topic, topic_end

RAW_PRODUCER = Path(__file__).parent / "raw_producer"
WARM_UP = 1000


def not_utf8(key: bytes) -> bool:
    try:
        key.decode()
    except UnicodeDecodeError:
        return True
    return False


# librdkafka hands a key over as a C string, so a NUL would end it: keys without one.
bad_keys = st.binary(min_size=1, max_size=16).filter(lambda k: b"\0" not in k and not_utf8(k))
good_keys = st.text(st.characters(exclude_characters=["\0"], exclude_categories=["Cs"]), max_size=8)
header_lists = st.lists(
    st.tuples(st.one_of(bad_keys, good_keys.map(str.encode)), st.binary(max_size=20)),
    max_size=3,
).flatmap(lambda others: st.permutations([*others, (b"\xff", b"a key no client of ours writes")]))


@pytest.fixture(scope="module")
def raw_producer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    go = shutil.which("go")
    assert go, "Go 1.26 or newer is needed to build tests/e2e/raw_producer (https://go.dev/dl/)"
    binary = tmp_path_factory.mktemp("raw_producer") / "raw_producer"
    subprocess.run([go, "build", "-o", str(binary), "."], cwd=RAW_PRODUCER, check=True, timeout=300)
    return binary


def produce(binary: Path, records: list[dict[str, object]]) -> None:
    lines = "".join(json.dumps(record) + "\n" for record in records)
    done = subprocess.run(
        [str(binary), KAFKA], input=lines, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == len(records)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.fixture
def author_and_subscriber(subscriptions: httpx.Client) -> tuple[int, int]:
    """One for all the examples: each example's own event is told apart by its id."""
    author, subscriber = random_id(), random_id()
    subscribe(subscriptions, subscriber, author)
    return author, subscriber


@settings(
    max_examples=5,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(headers=header_lists)
def test_a_header_key_that_is_not_utf8_is_dead_lettered_and_the_consumer_goes_on(
    raw_producer: Path,
    posts: httpx.Client,
    subscriptions: httpx.Client,
    author_and_subscriber: tuple[int, int],
    headers: list[tuple[bytes, bytes]],
) -> None:
    author, subscriber = author_and_subscriber
    event_id = str(uuid.uuid4())
    # A valid event as the Event Router writes it, but for the key no client can read.
    value = json.dumps(
        {"post_id": random_id(), "author_id": author, "title": "t", "content": "c",
         "created_at": "2026-12-02T10:00:00.000000Z"}
    ).encode()  # fmt: skip
    routed = [(b"id", event_id.encode()), (b"eventType", b"PostCreated"), *headers]
    start = topic_end(DEAD_LETTER_TOPIC)
    supervisor_log = Layout.from_env().logs / "supervisord.log"
    logged = len(supervisor_log.read_text().splitlines())
    # Tombstones first, read like any message: by the unreadable ones the consumer's code is hot,
    # as it is in production, and Python has specialised it (see chassis/kafka_headers.py).
    warm_up: list[dict[str, object]] = [
        {"topic": EVENTS_TOPIC, "partition": n % len(start), "value": None} for n in range(WARM_UP)
    ]
    produce(
        raw_producer,
        [
            *warm_up,
            *(
                {
                    "topic": EVENTS_TOPIC,
                    "partition": partition,
                    "value": b64(value),
                    "headers": [{"key": b64(k), "value": b64(v)} for k, v in routed],
                }
                for partition in start  # every partition: whichever consumer reads it meets one
            ),
        ],
    )

    after = post(posts, author, "after the unreadable headers")
    wait_notified(subscriptions, subscriber, {after["event_id"]})
    # Went on, not round a crash loop: a consumer started afresh would get past the message.
    exits = [
        line
        for line in supervisor_log.read_text().splitlines()[logged:]
        if "exited: subscribe-consumer" in line
    ]
    assert exits == []

    letters: dict[int, Message] = {}  # by the partition the message was read from

    def note(letter: Message) -> bool:
        if letter.value() == value:  # its post_id is this example's own
            letters[int(headers_of(letter)["dlq.partition"])] = letter
        return set(letters) == set(start)

    read_topic(DEAD_LETTER_TOPIC, start, until=note)
    for letter in letters.values():
        found = headers_of(letter)
        assert "header key is not UTF-8" in found["dlq.error"].decode()
        assert "id" not in found  # the original headers could not be read, so none are kept
    # The event inside was not applied: nothing can be trusted of a message whose headers are lost.
    assert event_id not in {n["event_id"] for n in notifications(subscriptions, subscriber)}
