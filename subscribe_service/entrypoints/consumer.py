"""The consumer: applies post events exactly once, then commits their offsets, then notifies.

Order matters: (1) a message that can never be applied goes to the dead-letter topic, and is done
with only once Kafka acknowledged it; (2) one DB transaction records each event in the inbox and
writes its notifications; (3) only after that commit are the Kafka offsets committed, so a crash
in between redelivers events the inbox turns into no-ops; (4) delivery to the outside runs last,
outside any transaction.

Whatever one message does, it does not stop the others: a message that cannot be decoded, for
whatever reason, and an event the database refuses are dead-lettered with their error. A fault of
the database itself (away, busy, set up wrong) is retried with backoff until it passes or the
consumer is stopped; a dead letter Kafka did not acknowledge, likewise.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import FrameType
from typing import TypeVar

import structlog
from confluent_kafka import Message
from prometheus_client import Counter, Gauge, Histogram
from tenacity import (
    Retrying,
    before_sleep_log,
    retry_base,
    retry_if_exception,
    retry_if_exception_type,
    stop_when_event_set,
    wait_exponential,
)

from chassis.database_errors import blames_the_data, driver_error
from chassis.heap import freeze_startup_heap
from contract.events import PostEvent
from subscribe_service.adapters.kafka import EventStream, headers_of
from subscribe_service.bootstrap import Bootstrapped, ConsumerDependencies
from subscribe_service.domain.events import InvalidEvent, decode
from subscribe_service.domain.notifications import Notification
from subscribe_service.entrypoints.metrics_endpoint import serve_metrics
from subscribe_service.service.notifications import notify_subscribers

log = structlog.get_logger()
T = TypeVar("T")

EVENTS_APPLIED = Counter("subscribe_events_applied_total", "Post events applied for the first time")
DUPLICATES_SKIPPED = Counter("subscribe_duplicates_skipped_total", "Redelivered events skipped")
DEAD_LETTERS = Counter("subscribe_dead_letters_total", "Messages sent to the dead-letter topic")
NOTIFICATIONS = Counter("subscribe_notifications_total", "Notifications written")
LAG = Gauge("subscribe_consumer_lag_messages", "Messages of the assigned partitions not read yet")
OFFSETS_OUT_OF_RANGE = Gauge(
    "subscribe_offsets_out_of_range",
    "Partitions stopped on a committed offset the topic no longer holds (events deleted unread); "
    "the consumer answers 503 until `make accept-gap`",
)
E2E_SECONDS = Histogram(
    "subscribe_e2e_seconds",
    "From a post's change (its creation, an edit, its deletion) to the commit applying it",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)

Received = tuple[Message, PostEvent]


@dataclass
class Applied:
    """What a batch did to the database: the events it holds, their new notifications, and how
    many of them were applied before (duplicates)."""

    events: list[PostEvent] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)
    duplicates: int = 0

    def add(self, events: Sequence[PostEvent], outcome: tuple[list[Notification], int]) -> None:
        self.events.extend(events)
        self.notifications.extend(outcome[0])
        self.duplicates += outcome[1]


class Consumer:
    def __init__(self, deps: Bootstrapped, stream: EventStream) -> None:
        self.deps = deps
        self.stream = stream
        self.stopping = threading.Event()

    def stop(self, signum: int = 0, frame: FrameType | None = None) -> None:
        """Finishes the current batch, commits what the database committed, and exits."""
        self.stopping.set()

    def is_ready(self) -> bool:
        """False once a partition stopped on an offset out of range: someone must look."""
        return not self.stream.out_of_range

    def run(self) -> None:
        log.info("consumer started", topic=self.deps.settings.events_topic)
        try:
            while not self.stopping.is_set():
                messages = self.stream.poll(timeout_s=0.5)
                OFFSETS_OUT_OF_RANGE.set(len(self.stream.out_of_range))
                if messages:
                    self.handle(messages)
        except Exception as error:
            if not self.stopping.is_set():
                raise
            # Stopped while retrying: nothing of the batch was committed; it is read again.
            log.warning("stopped in the middle of a batch", error=describe(error))
        finally:
            self.stream.close()  # leaves the group now, not after a session timeout
            log.info("consumer stopped")

    def handle(self, messages: list[Message]) -> None:
        received = [(m, event) for m in messages if (event := self.decode(m)) is not None]
        applied = self.apply(received)
        self.stream.commit(messages)
        self.record(applied)
        LAG.set(self.stream.lag())
        self.deps.notifier.deliver(applied.notifications)

    def decode(self, message: Message) -> PostEvent | None:
        try:
            return decode(message.value(), headers_of(message))
        except Exception as error:  # a RecursionError on deep JSON as much as an InvalidEvent
            self.dead_letter(message, error)
            return None

    def apply(self, received: list[Received]) -> Applied:
        """The batch in one transaction; if the database refuses it, one event per transaction,
        so that only the events it refuses are dead-lettered."""
        applied = Applied()
        events = [event for _, event in received]
        try:
            applied.add(events, self.retrying(notify_subscribers, self.deps.unit_of_work, events))
        except Exception as error:
            if not blames_the_data(error):
                raise
            log.warning("the database refused a batch; one event at a time", error=describe(error))
            for message, event in received:
                self.apply_alone(message, event, applied)
        return applied

    def apply_alone(self, message: Message, event: PostEvent, applied: Applied) -> None:
        try:
            applied.add([event], self.retrying(notify_subscribers, self.deps.unit_of_work, [event]))
        except Exception as error:
            if not blames_the_data(error):
                raise
            self.dead_letter(message, error)

    def retrying(self, apply: Callable[..., T], *args: object) -> T:
        """Calls apply again while the database is at fault: it is away or busy (restarting, a
        lost connection, a deadlock) or set up wrong. The events are fine."""
        database_at_fault = retry_if_exception(lambda error: not blames_the_data(error))
        return self.until_stopped(database_at_fault)(apply, *args)

    def dead_letter(self, message: Message, error: BaseException) -> None:
        """Returns once Kafka acknowledged the dead letter: until then, and while Kafka is away,
        it tries again, so that the batch's offsets stay where they are."""
        reason = describe(error)
        log.warning(
            "dead-lettering a message",
            error=reason,
            partition=message.partition(),
            offset=message.offset(),
        )
        self.until_stopped(retry_if_exception_type())(self.stream.dead_letter, message, reason)
        DEAD_LETTERS.inc()

    def until_stopped(self, retry: retry_base) -> Retrying:
        """Tries again with backoff (0.1 s, doubling up to 5 s) while `retry` says so, until the
        consumer is stopped; then the last error is raised."""
        return Retrying(
            retry=retry,
            wait=wait_exponential(multiplier=0.1, max=5),
            stop=stop_when_event_set(self.stopping),
            before_sleep=before_sleep_log(log, 30),
            reraise=True,
        )

    @staticmethod
    def record(applied: Applied) -> None:
        EVENTS_APPLIED.inc(len(applied.events) - applied.duplicates)
        DUPLICATES_SKIPPED.inc(applied.duplicates)
        NOTIFICATIONS.inc(len(applied.notifications))
        now = datetime.now(UTC)
        for event in applied.events:
            E2E_SECONDS.observe((now - event.occurred_at).total_seconds())
        if applied.duplicates:
            log.info("duplicates skipped", count=applied.duplicates)


def describe(error: BaseException) -> str:
    """An error as a dead letter carries it: what the domain says of an invalid event; else the
    error's type and message, the driver's own for a database error (not the whole statement)."""
    if isinstance(error, InvalidEvent):
        return str(error)
    cause = driver_error(error)
    return f"{type(cause).__name__}: {cause}"


def run(consumer_deps: ConsumerDependencies) -> None:
    deps = consumer_deps.deps
    consumer = Consumer(deps, consumer_deps.stream)
    serve_metrics(deps.settings.metrics_host, deps.settings.metrics_port, consumer.is_ready)
    signal.signal(signal.SIGTERM, consumer.stop)
    signal.signal(signal.SIGINT, consumer.stop)
    freeze_startup_heap()
    started = time.monotonic()
    consumer.run()
    log.info("consumer exiting", ran_s=round(time.monotonic() - started, 1))
