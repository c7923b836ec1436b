"""Fakes for the consumer's loop: the event stream, a unit of work that fails as a database can,
and a journal in which every fake writes what happened, so that a test can read the order."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from uuid import uuid4

import pymysql
import sqlalchemy.exc
from confluent_kafka import Message
from sqlalchemy import create_engine

from contract.events import PostEvent, format_timestamp
from subscribe_service.adapters.dead_letters import DeadLetterNotAcknowledged
from subscribe_service.adapters.kafka import EventStream
from subscribe_service.bootstrap import Bootstrapped
from subscribe_service.domain.notifications import Notification
from subscribe_service.service.ports import Notifier
from subscribe_service.settings import Settings
from tests.unit.fakes import FakeInbox, FakeSubscribeUnitOfWork, SubscribeStore

DATABASE_COMMITTED = "database committed"
OFFSETS_COMMITTED = "offsets committed"
DEAD_LETTER_ACKNOWLEDGED = "dead letter acknowledged"
NOTIFIED = "notified"

Journal = list[str]


def message(offset: int, value: bytes | None, headers: dict[str, bytes]) -> Message:
    return Message(
        topic="events", partition=0, offset=offset, value=value, headers=list(headers.items())
    )


def event_message(offset: int, author_id: int, title: str = "a post") -> Message:
    payload = {
        "post_id": offset + 1,
        "author_id": author_id,
        "title": title,
        "created_at": format_timestamp(datetime.now(UTC)),
    }
    headers = {"id": str(uuid4()).encode(), "eventType": b"PostCreated"}
    return message(offset, json.dumps(payload).encode(), headers)


def lost_connection() -> sqlalchemy.exc.OperationalError:
    """What SQLAlchemy raises when the server goes away in the middle of a transaction."""
    cause = pymysql.err.OperationalError(2013, "Lost connection to MySQL server during query")
    return sqlalchemy.exc.OperationalError("COMMIT", None, cause)


def data_too_long() -> sqlalchemy.exc.DataError:
    cause = pymysql.err.DataError(1406, "Data too long for column 'title' at row 1")
    return sqlalchemy.exc.DataError("INSERT INTO notifications ...", None, cause)


class FakeEventStream(EventStream):
    """Hands out the batches it was given, one per poll, and notes commits and dead letters."""

    def __init__(self, journal: Journal, *batches: list[Message]) -> None:
        self.journal = journal
        self.batches = list(batches)
        self.committed: list[int] = []
        self.dead: list[tuple[Message, str]] = []
        self.refuse_dead_letters = False
        self.out_of_range: set[tuple[str, int]] = set()
        self.fatal: Exception | None = None  # what poll raises once the batches are handed out
        self.closed = False

    def poll(self, timeout_s: float) -> list[Message]:
        if not self.batches and self.fatal:
            raise self.fatal
        return self.batches.pop(0) if self.batches else []

    def commit(self, messages: Sequence[Message]) -> None:
        self.committed.extend(m.offset() or 0 for m in messages)
        self.journal.append(OFFSETS_COMMITTED)

    def dead_letter(self, message: Message, error: str) -> None:
        if self.refuse_dead_letters:
            raise DeadLetterNotAcknowledged("Kafka refused the dead letter")
        self.dead.append((message, error))
        self.journal.append(DEAD_LETTER_ACKNOWLEDGED)

    def lag(self) -> int:
        return 0

    def close(self) -> None:
        self.closed = True


class RefusingInbox(FakeInbox):
    def __init__(self, store: SubscribeStore, refuses: Callable[[PostEvent], bool]) -> None:
        super().__init__(store)
        self.refuses = refuses

    def record(self, events: Sequence[PostEvent]) -> list[PostEvent]:
        if any(self.refuses(event) for event in events):
            raise data_too_long()
        return super().record(events)


class JournalingUnitOfWork(FakeSubscribeUnitOfWork):
    """Notes its commits; refuses the events `refuses` picks as the database would a value it
    cannot store; and raises the errors of `failures`, a list its units of work share, one per
    commit, before committing."""

    def __init__(
        self,
        committed: SubscribeStore,
        journal: Journal,
        refuses: Callable[[PostEvent], bool] = lambda event: False,
        failures: list[Exception] | None = None,
    ) -> None:
        super().__init__(committed)
        self.journal = journal
        self.refuses = refuses
        self.failures = failures if failures is not None else []

    def __enter__(self) -> JournalingUnitOfWork:
        super().__enter__()
        self.inbox = RefusingInbox(self.pending, self.refuses)
        return self

    def commit(self) -> None:
        if self.failures:
            raise self.failures.pop(0)
        super().commit()
        self.journal.append(DATABASE_COMMITTED)


class JournalingNotifier(Notifier):
    def __init__(self, journal: Journal) -> None:
        self.journal = journal

    def deliver(self, notifications: Sequence[Notification]) -> None:
        self.journal.append(NOTIFIED)


def consumer_deps(
    unit_of_work: Callable[[], JournalingUnitOfWork], journal: Journal
) -> Bootstrapped:
    settings = Settings(service_db_password="unused")
    # An engine connects on first use only, and the consumer uses its units of work instead.
    return Bootstrapped(
        settings, create_engine("sqlite://"), unit_of_work, JournalingNotifier(journal)
    )
