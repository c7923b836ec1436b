"""The polling relay (relay mode `polling`, the tutorial's V2): `python -m post_service relay`.

Each round, in one transaction: claim a batch of unpublished rows (FOR UPDATE SKIP LOCKED),
publish them with an idempotent producer (acks=all), wait for Kafka's acknowledgements, and mark
published only the rows Kafka acknowledged; then commit. The tutorial marked rows sent before the
broker confirmed, and lost them while Kafka was down. Here a row Kafka did not acknowledge stays
unpublished and is sent again: at least once, in order, and the subscriber's inbox removes the
duplicates.
"""

from __future__ import annotations

import signal
import threading
import time
from types import FrameType

import structlog
from prometheus_client import Counter, Gauge, start_http_server
from sqlalchemy import Engine, create_engine
from sqlalchemy.exc import InterfaceError, OperationalError

from post_service.adapters import pending_events
from post_service.adapters.kafka import EventPublisher
from post_service.settings import RelaySettings

log = structlog.get_logger()

PUBLISHED = Counter("relay_events_published_total", "Outbox rows published and marked")
UNACKNOWLEDGED = Counter("relay_events_unacknowledged_total", "Rows Kafka did not acknowledge")
PURGED = Counter("relay_rows_purged_total", "Published rows deleted after the retention")
LAST_BATCH = Gauge("relay_last_batch_size", "Rows claimed by the last round")
LAG_ROWS = Gauge("relay_unpublished_rows", "Outbox rows not published yet")
LAG_SECONDS = Gauge("relay_oldest_unpublished_age_seconds", "Age of the oldest unpublished row")
LAG_EVERY_S = 5.0

MAX_BACKOFF_S = 5.0


class Relay:
    def __init__(self, settings: RelaySettings, engine: Engine, publisher: EventPublisher) -> None:
        self.settings = settings
        self.engine = engine
        self.publisher = publisher
        self.stopping = threading.Event()
        self.next_purge = time.monotonic()
        self.next_lag = time.monotonic()

    def stop(self, signum: int = 0, frame: FrameType | None = None) -> None:
        self.stopping.set()

    def run(self) -> None:
        backoff = 0.0
        while not self.stopping.is_set():
            try:
                claimed, acknowledged = self.round()
                self.purge_when_due()
                self.measure_lag_when_due()
                failed = acknowledged < claimed  # Kafka did not take them all
            except (OperationalError, InterfaceError) as error:
                log.warning("database unavailable; retrying", error=str(error))
                claimed, failed = 0, True
            if failed:
                backoff = min(MAX_BACKOFF_S, max(0.1, backoff * 2))
            elif claimed:
                backoff = 0.0  # there may be more: go again at once
                continue
            else:
                backoff = self.settings.relay_poll_interval_s  # nothing to do until the next poll
            self.stopping.wait(backoff)
        self.publisher.close()

    def round(self) -> tuple[int, int]:
        """Claims, publishes and marks one batch; returns (claimed, acknowledged)."""
        with self.engine.begin() as connection:
            events = pending_events.claim(connection, self.settings.relay_batch_size)
            LAST_BATCH.set(len(events))
            if not events:
                return 0, 0
            acknowledged = self.publisher.publish(events, timeout_s=10)
            pending_events.mark_published(connection, acknowledged)
        PUBLISHED.inc(len(acknowledged))
        if len(acknowledged) < len(events):
            UNACKNOWLEDGED.inc(len(events) - len(acknowledged))
            log.warning("kafka did not acknowledge", unacknowledged=len(events) - len(acknowledged))
        return len(events), len(acknowledged)

    def measure_lag_when_due(self) -> None:
        if time.monotonic() < self.next_lag:
            return
        self.next_lag = time.monotonic() + LAG_EVERY_S
        with self.engine.connect() as connection:
            rows, age_s = pending_events.backlog(connection)
        LAG_ROWS.set(rows)
        LAG_SECONDS.set(age_s)

    def purge_when_due(self) -> None:
        if time.monotonic() < self.next_purge:
            return
        self.next_purge = time.monotonic() + self.settings.relay_purge_interval_s
        with self.engine.begin() as connection:
            PURGED.inc(pending_events.purge(connection, self.settings.relay_retention_s))


def run(settings: RelaySettings) -> None:
    start_http_server(settings.metrics_port, addr=settings.metrics_host)
    engine = create_engine(
        settings.db_url(settings.relay_db_user, settings.relay_db_password),
        pool_size=1,
        pool_pre_ping=True,
        # Under REPEATABLE READ the claim's FOR UPDATE would also lock the gaps of the index it
        # scans, and block the post service's inserts for as long as Kafka takes to answer.
        isolation_level="READ COMMITTED",
    )
    publisher = EventPublisher(
        settings.kafka_bootstrap_servers, settings.events_topic, message_timeout_ms=10_000
    )
    relay = Relay(settings, engine, publisher)
    signal.signal(signal.SIGTERM, relay.stop)
    signal.signal(signal.SIGINT, relay.stop)
    log.info("polling relay started", interval_s=settings.relay_poll_interval_s)
    relay.run()
    log.info("polling relay stopped")
