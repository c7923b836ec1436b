"""The consumer's loop: the order the guarantee rests on (dead letters acknowledged, then the
database commit, then the offsets, then the notifications), and whatever one message does, it is
dead-lettered while the rest of its batch is applied."""

from __future__ import annotations

import pytest
import sqlalchemy.exc
from confluent_kafka import KafkaError, KafkaException

from subscribe_service.adapters.dead_letters import DeadLetterNotAcknowledged
from subscribe_service.entrypoints.consumer import Consumer
from subscribe_service.service.subscriptions import subscribe
from tests.unit.consumer_fakes import (
    DATABASE_COMMITTED,
    DEAD_LETTER_ACKNOWLEDGED,
    NOTIFIED,
    OFFSETS_COMMITTED,
    FakeEventStream,
    Journal,
    JournalingUnitOfWork,
    consumer_deps,
    event_message,
    lost_connection,
    message,
)
from tests.unit.fakes import FakeSubscribeUnitOfWork, SubscribeStore

AUTHOR, SUBSCRIBER = 1, 10
DEEP = b"[" * 100_000 + b"]" * 100_000  # far deeper than Python's recursion limit


def subscribed() -> SubscribeStore:
    store = SubscribeStore()
    subscribe(lambda: FakeSubscribeUnitOfWork(store), SUBSCRIBER, AUTHOR)
    return store


def consumer_over(
    store: SubscribeStore, journal: Journal, **unit_of_work: object
) -> tuple[Consumer, FakeEventStream]:
    stream = FakeEventStream(journal)
    deps = consumer_deps(lambda: JournalingUnitOfWork(store, journal, **unit_of_work), journal)  # type: ignore[arg-type]
    return Consumer(deps, stream), stream


def test_offsets_are_committed_after_the_database_commit_and_notifications_go_last() -> None:
    journal: Journal = []
    consumer, stream = consumer_over(subscribed(), journal)
    consumer.handle([event_message(0, AUTHOR), event_message(1, AUTHOR)])
    assert journal == [DATABASE_COMMITTED, OFFSETS_COMMITTED, NOTIFIED]
    assert stream.committed == [0, 1]


def test_a_batch_the_database_never_took_leaves_the_offsets_where_they_were() -> None:
    journal: Journal = []
    store = subscribed()
    consumer, stream = consumer_over(store, journal, failures=[lost_connection()])
    consumer.stop()  # SIGTERM while the database is away: the retry gives up
    with pytest.raises(sqlalchemy.exc.OperationalError):
        consumer.handle([event_message(0, AUTHOR)])
    assert stream.committed == []
    assert store.processed == set()
    assert journal == []


def test_a_dead_letter_is_acknowledged_before_its_offset_is_committed() -> None:
    journal: Journal = []
    consumer, stream = consumer_over(subscribed(), journal)
    consumer.handle([message(0, b"not json", {"id": b"x"}), event_message(1, AUTHOR)])
    assert journal == [DEAD_LETTER_ACKNOWLEDGED, DATABASE_COMMITTED, OFFSETS_COMMITTED, NOTIFIED]
    assert stream.committed == [0, 1]


def test_a_dead_letter_kafka_did_not_acknowledge_leaves_the_offsets_where_they_were() -> None:
    journal: Journal = []
    consumer, stream = consumer_over(subscribed(), journal)
    stream.refuse_dead_letters = True
    consumer.stop()  # the retry of the dead letter gives up at once
    with pytest.raises(DeadLetterNotAcknowledged):
        consumer.handle([message(0, b"not json", {"id": b"x"}), event_message(1, AUTHOR)])
    assert stream.committed == []
    assert OFFSETS_COMMITTED not in journal


def test_a_message_nested_deeper_than_python_can_read_is_dead_lettered_and_the_rest_applied() -> (
    None
):
    journal: Journal = []
    store = subscribed()
    consumer, stream = consumer_over(store, journal)
    good = event_message(1, AUTHOR)
    consumer.handle([message(0, DEEP, {"id": b"x"}), good])
    ((letter, error),) = stream.dead
    assert letter.offset() == 0
    assert error.startswith("RecursionError")
    assert len(store.notifications) == 1
    assert stream.committed == [0, 1]


def test_an_event_the_database_refuses_is_dead_lettered_and_the_rest_of_its_batch_applied() -> None:
    journal: Journal = []
    store = subscribed()
    consumer, stream = consumer_over(store, journal, refuses=lambda event: event.title == "refused")
    batch = [
        event_message(0, AUTHOR),
        event_message(1, AUTHOR, "refused"),
        event_message(2, AUTHOR),
    ]
    consumer.handle(batch)
    ((letter, error),) = stream.dead
    assert letter.offset() == 1
    assert error == "DataError: (1406, \"Data too long for column 'title' at row 1\")"
    assert sorted(n.post_id for n in store.notifications) == [1, 3]
    assert stream.committed == [0, 1, 2]
    assert journal == [
        DATABASE_COMMITTED,  # the first event, alone
        DEAD_LETTER_ACKNOWLEDGED,
        DATABASE_COMMITTED,
        OFFSETS_COMMITTED,
        NOTIFIED,
    ]


def test_a_transient_database_error_is_retried_and_nothing_is_dead_lettered() -> None:
    journal: Journal = []
    store = subscribed()
    consumer, stream = consumer_over(
        store, journal, failures=[lost_connection(), lost_connection()]
    )
    consumer.handle([event_message(0, AUTHOR)])
    assert stream.dead == []
    assert len(store.notifications) == 1
    assert journal == [DATABASE_COMMITTED, OFFSETS_COMMITTED, NOTIFIED]


def test_stopped_during_a_database_outage_the_consumer_still_leaves_the_group() -> None:
    journal: Journal = []
    store = subscribed()
    stream = FakeEventStream(journal, [event_message(0, AUTHOR)])
    attempts = 0

    def unit_of_work() -> JournalingUnitOfWork:
        nonlocal attempts
        attempts += 1
        if attempts == 2:
            consumer.stop()  # SIGTERM while the database is away
        return JournalingUnitOfWork(store, journal, failures=[lost_connection()])

    consumer = Consumer(consumer_deps(unit_of_work, journal), stream)
    consumer.run()
    assert stream.closed
    assert stream.committed == []


def test_a_consumer_that_crashes_still_leaves_the_group() -> None:
    journal: Journal = []
    consumer, stream = consumer_over(subscribed(), journal)
    stream.batches.append([event_message(0, AUTHOR)])
    stream.fatal = KafkaException(KafkaError(KafkaError._FATAL))
    with pytest.raises(KafkaException):
        consumer.run()
    assert stream.closed
    assert stream.committed == [0]
