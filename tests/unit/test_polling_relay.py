"""The polling relay's use case: it marks published only what Kafka acknowledged, and a row it
can never read is set aside instead of blocking the queue."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from contract.events import PostCreated, PostUpdated
from post_service.service.relay import publish_pending
from tests.unit.relay_fakes import FakeKafka, FakeRelayUnitOfWork, Queue, Row


def an_event(title: str) -> PostCreated:
    return PostCreated(uuid4(), 1, 1, title, datetime.now(UTC))


def queue_of(*rows: Row) -> Queue:
    return Queue({str(row.event.event_id) if row.event else str(uuid4()): row for row in rows})


def test_only_the_rows_kafka_acknowledged_are_marked_published() -> None:
    taken, lost = an_event("taken"), an_event("lost")
    queue = queue_of(Row(taken), Row(lost))

    done = publish_pending(lambda: FakeRelayUnitOfWork(queue), FakeKafka({str(lost.event_id)}), 10)

    assert (done.claimed, done.acknowledged) == (2, 1)
    assert queue.rows[str(taken.event_id)].published
    assert not queue.rows[str(lost.event_id)].published  # sent again in the next round


def test_a_row_kafka_did_not_acknowledge_is_sent_again_next_round() -> None:
    event = an_event("again")
    queue = queue_of(Row(event))
    flaky = FakeKafka({str(event.event_id)})
    publish_pending(lambda: FakeRelayUnitOfWork(queue), flaky, 10)
    flaky.loses.clear()

    done = publish_pending(lambda: FakeRelayUnitOfWork(queue), flaky, 10)

    assert done.acknowledged == 1
    assert [e.event_id for e in flaky.sent] == [event.event_id, event.event_id]


def test_an_unreadable_row_is_set_aside_and_the_rows_behind_it_go_out() -> None:
    behind = an_event("behind")
    queue = queue_of(Row(None), Row(behind))
    kafka = FakeKafka()

    done = publish_pending(lambda: FakeRelayUnitOfWork(queue), kafka, 10)

    assert (done.set_aside, done.acknowledged) == (1, 1)
    (unreadable,) = [row for row in queue.rows.values() if row.event is None]
    assert unreadable.set_aside_error == "KeyError: 'title'"
    assert queue.rows[str(behind.event_id)].published
    assert publish_pending(lambda: FakeRelayUnitOfWork(queue), kafka, 10).claimed == 0


def test_a_later_event_of_a_post_whose_earlier_one_failed_waits_for_it() -> None:
    first, second = an_event("v1"), PostUpdated(uuid4(), 1, 1, "v2", 2, datetime.now(UTC))
    other = PostCreated(uuid4(), 2, 1, "another post", datetime.now(UTC))
    queue = queue_of(Row(first), Row(second), Row(other))
    kafka = FakeKafka({str(first.event_id)})

    done = publish_pending(lambda: FakeRelayUnitOfWork(queue), kafka, 10)

    assert (done.claimed, done.acknowledged) == (3, 1)
    assert [row.published for row in queue.rows.values()] == [False, False, True]
    kafka.loses.clear()
    publish_pending(lambda: FakeRelayUnitOfWork(queue), kafka, 10)
    assert [e.version for e in kafka.sent if e.post_id == 1] == [1, 2, 1, 2]
