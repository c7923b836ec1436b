"""The consumer: applies post events exactly once, then commits their offsets, then notifies.

Order matters: (1) one DB transaction records each event in the inbox and writes its
notifications; (2) only after that commit are the Kafka offsets committed, so a crash in between
redelivers events the inbox turns into no-ops; (3) delivery to the outside runs last, outside any
transaction.
"""

from __future__ import annotations

import signal
import threading
import time
from datetime import UTC, datetime
from types import FrameType

import structlog
from confluent_kafka import Message
from prometheus_client import Counter, Gauge, Histogram, start_http_server
from sqlalchemy.exc import InterfaceError, OperationalError
from tenacity import (
    Retrying,
    before_sleep_log,
    retry_if_exception_type,
    stop_when_event_set,
    wait_exponential,
)

from contract.events import PostCreated
from subscribe_service.adapters.kafka import EventStream, headers_of
from subscribe_service.bootstrap import Bootstrapped, ConsumerDependencies
from subscribe_service.domain.events import InvalidEvent, decode
from subscribe_service.service.notifications import notify_subscribers

log = structlog.get_logger()

EVENTS_APPLIED = Counter("subscribe_events_applied_total", "Post events applied for the first time")
DUPLICATES_SKIPPED = Counter("subscribe_duplicates_skipped_total", "Redelivered events skipped")
DEAD_LETTERS = Counter("subscribe_dead_letters_total", "Messages sent to the dead-letter topic")
NOTIFICATIONS = Counter("subscribe_notifications_total", "Notifications written")
LAG = Gauge("subscribe_consumer_lag_messages", "Messages of the assigned partitions not read yet")
E2E_SECONDS = Histogram(
    "subscribe_e2e_seconds",
    "From the post's creation to the commit of its notifications",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)


class Consumer:
    def __init__(self, deps: Bootstrapped, stream: EventStream) -> None:
        self.deps = deps
        self.stream = stream
        self.stopping = threading.Event()

    def stop(self, signum: int = 0, frame: FrameType | None = None) -> None:
        """Finishes the current batch, commits what the database committed, and exits."""
        self.stopping.set()

    def run(self) -> None:
        log.info("consumer started", topic=self.deps.settings.events_topic)
        while not self.stopping.is_set():
            messages = self.stream.poll(timeout_s=0.5)
            if messages:
                self.handle(messages)
        self.stream.close()
        log.info("consumer stopped")

    def handle(self, messages: list[Message]) -> None:
        events = [event for m in messages if (event := self.decode(m)) is not None]
        # A transient database error (a restart, a lost connection) is retried with backoff,
        # never dead-lettered: the events are fine, the database will be back.
        retrying = Retrying(
            retry=retry_if_exception_type((OperationalError, InterfaceError)),
            wait=wait_exponential(multiplier=0.1, max=5),
            stop=stop_when_event_set(self.stopping),
            before_sleep=before_sleep_log(log, 30),
            reraise=True,
        )
        notifications, duplicates = retrying(notify_subscribers, self.deps.unit_of_work, events)
        self.stream.commit(messages)
        self.record(events, duplicates, len(notifications))
        LAG.set(self.stream.lag())
        self.deps.notifier.deliver(notifications)

    def decode(self, message: Message) -> PostCreated | None:
        try:
            return decode(message.value(), headers_of(message))
        except InvalidEvent as error:
            log.warning("dead-lettering a message", error=str(error), offset=message.offset())
            self.stream.dead_letter(message, error)
            DEAD_LETTERS.inc()
            return None

    @staticmethod
    def record(events: list[PostCreated], duplicates: int, notifications: int) -> None:
        EVENTS_APPLIED.inc(len(events) - duplicates)
        DUPLICATES_SKIPPED.inc(duplicates)
        NOTIFICATIONS.inc(notifications)
        now = datetime.now(UTC)
        for event in events:
            E2E_SECONDS.observe((now - event.created_at).total_seconds())
        if duplicates:
            log.info("duplicates skipped", count=duplicates)


def run(consumer_deps: ConsumerDependencies) -> None:
    deps = consumer_deps.deps
    start_http_server(deps.settings.metrics_port, addr=deps.settings.metrics_host)
    consumer = Consumer(deps, consumer_deps.stream)
    signal.signal(signal.SIGTERM, consumer.stop)
    signal.signal(signal.SIGINT, consumer.stop)
    started = time.monotonic()
    consumer.run()
    log.info("consumer exiting", ran_s=round(time.monotonic() - started, 1))
