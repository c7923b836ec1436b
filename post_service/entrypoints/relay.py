"""The polling relay's process (relay mode `polling`): `python -m post_service relay`.

It runs the use cases of post_service/service/relay.py in a loop: a batch at once while there
is more, a poll interval's wait when there is none, a growing backoff while Kafka or the
database fails; now and then it purges published rows and measures the backlog.
"""

from __future__ import annotations

import signal
import threading
import time
from types import FrameType

import structlog
from prometheus_client import Counter, Gauge, start_http_server
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from chassis.heap import freeze_startup_heap
from chassis.unit_of_work import OutcomeUnknown
from post_service.bootstrap import RelayDependencies
from post_service.service import relay as use_cases
from post_service.settings import RelaySettings

log = structlog.get_logger()

PUBLISHED = Counter("relay_events_published_total", "Outbox rows published and marked")
UNACKNOWLEDGED = Counter("relay_events_unacknowledged_total", "Rows Kafka did not acknowledge")
SET_ASIDE = Counter(
    "relay_rows_set_aside_total", "Outbox rows that cannot be read, set aside with their error"
)
PURGED = Counter("relay_rows_purged_total", "Published rows deleted after the retention")
LAST_BATCH = Gauge("relay_last_batch_size", "Rows claimed by the last round")
LAG_ROWS = Gauge("relay_unpublished_rows", "Outbox rows not published yet")
LAG_SECONDS = Gauge("relay_oldest_unpublished_age_seconds", "Age of the oldest unpublished row")
LAG_EVERY_S = 5.0

MAX_BACKOFF_S = 5.0


class Relay:
    def __init__(self, settings: RelaySettings, deps: RelayDependencies) -> None:
        self.settings = settings
        self.deps = deps
        self.stopping = threading.Event()
        self.next_purge = time.monotonic()
        self.next_lag = time.monotonic()

    def stop(self, signum: int = 0, frame: FrameType | None = None) -> None:
        self.stopping.set()

    def run(self) -> None:
        backoff = 0.0
        while not self.stopping.is_set():
            try:
                done = self.round()
                self.purge_when_due()
                self.measure_lag_when_due()
                failed, busy = done.failed, bool(done.claimed or done.set_aside)
            except (OperationalError, InterfaceError, OutcomeUnknown, PoolTimeout) as error:
                log.warning("database unavailable; retrying", error=str(error))
                failed, busy = True, False
            if failed:
                backoff = min(MAX_BACKOFF_S, max(0.1, backoff * 2))
            elif busy:
                backoff = 0.0  # there may be more: go again at once
                continue
            else:
                backoff = self.settings.relay_poll_interval_s  # nothing to do until the next poll
            self.stopping.wait(backoff)
        self.deps.publisher.close()

    def round(self) -> use_cases.Round:
        done = use_cases.publish_pending(
            self.deps.unit_of_work, self.deps.publisher, self.settings.relay_batch_size
        )
        LAST_BATCH.set(done.claimed)
        PUBLISHED.inc(done.acknowledged)
        if done.failed:
            UNACKNOWLEDGED.inc(done.claimed - done.acknowledged)
            log.warning(
                "kafka did not acknowledge", unacknowledged=done.claimed - done.acknowledged
            )
        if done.set_aside:
            SET_ASIDE.inc(done.set_aside)
            log.error("outbox rows set aside: they can never be published", rows=done.set_aside)
        return done

    def measure_lag_when_due(self) -> None:
        if time.monotonic() < self.next_lag:
            return
        self.next_lag = time.monotonic() + LAG_EVERY_S
        rows, age_s = use_cases.backlog(self.deps.unit_of_work)
        LAG_ROWS.set(rows)
        LAG_SECONDS.set(age_s)

    def purge_when_due(self) -> None:
        if time.monotonic() < self.next_purge:
            return
        self.next_purge = time.monotonic() + self.settings.relay_purge_interval_s
        PURGED.inc(
            use_cases.purge_published(self.deps.unit_of_work, self.settings.relay_retention_s)
        )


def run(settings: RelaySettings, deps: RelayDependencies) -> None:
    start_http_server(settings.metrics_port, addr=settings.metrics_host)
    relay = Relay(settings, deps)
    signal.signal(signal.SIGTERM, relay.stop)
    signal.signal(signal.SIGINT, relay.stop)
    freeze_startup_heap()
    log.info("polling relay started", interval_s=settings.relay_poll_interval_s)
    relay.run()
    log.info("polling relay stopped")
