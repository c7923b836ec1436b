"""The webhook dispatcher, a process of its own (`python -m subscribe_service dispatcher`).

It runs the use cases of service/dispatch.py in a loop. A round claims due deliveries in one short
transaction, under a lease; each is POSTed outside any transaction, at most max_in_flight at once
and max_in_flight_per_endpoint per endpoint, so a slow endpoint holds a few slots, never the
others'. The outcomes are recorded in short transactions, each taking every outcome that came in
while the previous one ran; a delivery's slot is free once its outcome is recorded. After a full
claim the loop waits for room for a batch rather than claiming one row per freed slot.
Dispatchers scale by running more of them: SKIP LOCKED keeps their claims apart, and a lease that
runs out (a dispatcher that died) hands the delivery to another. Now and then it measures the
backlog for its metrics.
"""

from __future__ import annotations

import asyncio
import random
import signal
import time
from collections import Counter as Tally
from datetime import timedelta

import structlog
from prometheus_client import Counter, Gauge, Histogram

from chassis.database_errors import blames_the_data, driver_error
from chassis.heap import freeze_startup_heap
from subscribe_service.bootstrap import DispatcherDependencies, bootstrap
from subscribe_service.domain.deliveries import Delivery, Outcome, Status, Verdict
from subscribe_service.entrypoints.metrics_endpoint import serve_metrics
from subscribe_service.service import dispatch
from subscribe_service.service.webhooks import retry_dead
from subscribe_service.settings import Settings

log = structlog.get_logger()

PENDING = Gauge("subscribe_webhook_deliveries_pending", "Webhook deliveries not delivered yet")
OLDEST_PENDING_AGE = Gauge(
    "subscribe_webhook_oldest_pending_age_seconds",
    "Age of the oldest pending webhook delivery, from when it was written",
)
DEAD = Gauge(
    "subscribe_webhook_deliveries_dead",
    "Webhook deliveries that gave up (`python -m subscribe_service retry-dead` retries them)",
)
BACKLOG_MEASURED_AT = Gauge(
    "subscribe_webhook_backlog_measured_at_seconds",
    "Unix time of the last count behind the three gauges above: while counts fail they keep"
    " their last values, and this one falls behind (alert on time() minus it)",
)
ATTEMPTS = Counter(
    "subscribe_webhook_attempts_total", "Webhook attempts by what they made of the delivery",
    ["outcome"],
)  # fmt: skip
for _outcome in ("delivered", "retry", "dead"):
    ATTEMPTS.labels(_outcome)  # each at 0 from the start, so that a rate() sees its first one
IN_FLIGHT = Gauge("subscribe_webhook_requests_in_flight", "Webhook requests under way")
DELIVERY_SECONDS = Histogram(
    "subscribe_webhook_delivery_seconds",
    "From the delivery's writing (the notification's commit) to the endpoint's 2xx",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 7200, 86400),
)
ATTEMPTS_TO_DELIVER = Histogram(
    "subscribe_webhook_attempts_per_delivery",
    "How many attempts a delivered webhook took",
    buckets=(1, 2, 3, 5, 8, 13, 20),
)
REQUEST_SECONDS = Histogram(
    "subscribe_webhook_request_seconds",
    "One POST to an endpoint, to its answer or its failure",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20),
)
BACKLOG_EVERY_S = 2.0
MAX_BACKOFF_S = 5.0
RECORD_BATCH = 500  # outcomes recorded in one transaction at most
Outcomes = asyncio.Queue[tuple[Delivery, Outcome, "asyncio.Future[Verdict | None]"]]


class Polling:
    """How long to wait before the next claim, once a claim took all that was due: the busy
    interval after one that found deliveries, then twice as long after each that found none, up
    to the idle interval. Under load a delivery waits little for its claim; idle, the dispatcher
    asks its database ten times a second."""

    def __init__(self, busy_s: float, idle_s: float) -> None:
        self.busy_s = busy_s
        self.idle_s = idle_s
        self.interval_s = idle_s

    def after(self, claimed: int) -> float:
        """The wait after a claim that found `claimed` deliveries."""
        self.interval_s = self.busy_s if claimed else min(self.idle_s, self.interval_s * 2)
        return self.interval_s


class Dispatcher:
    def __init__(self, dependencies: DispatcherDependencies) -> None:
        self.settings: Settings = dependencies.deps.settings
        self.unit_of_work = dependencies.deps.unit_of_work
        self.sender = dependencies.sender
        self.policy = self.settings.retry_policy
        self.rng = random.Random()
        self.stopping = asyncio.Event()
        self.tasks: set[asyncio.Task[None]] = set()
        self.per_endpoint: Tally[int] = Tally()  # requests claimed and not settled, by subscriber
        self.endpoint_slots: dict[int, asyncio.Semaphore] = {}
        self.outcomes: Outcomes = asyncio.Queue()
        self.database_ok = False
        self.next_backlog = 0.0
        self.polling = Polling(
            self.settings.dispatcher_busy_poll_interval_s, self.settings.dispatcher_poll_interval_s
        )

    def stop(self) -> None:
        """Claims no more; the requests under way finish and are recorded."""
        self.stopping.set()

    def is_ready(self) -> bool:
        return self.database_ok

    async def run(self) -> None:
        log.info("dispatcher started", max_in_flight=self.settings.dispatcher_max_in_flight)
        recorder = asyncio.create_task(self.record_outcomes())
        backoff = 0.0
        while not self.stopping.is_set():
            wanted = min(self.free_slots(), self.settings.dispatcher_batch_size)
            try:
                claimed = await self.claim(wanted)
                self.database_ok, backoff = True, 0.0
            except Exception as error:
                self.database_ok = False
                backoff = min(MAX_BACKOFF_S, max(0.1, backoff * 2))
                log.warning("cannot claim deliveries; retrying", error=describe(error))
                await self.pause(backoff)
                continue
            for delivery in claimed:
                self.start(delivery)
            await self.measure_backlog_when_due()
            if recorder.done():  # it never ends by itself: fail loudly, supervisord restarts
                recorder.result()
                raise RuntimeError("the outcome recorder stopped")
            if len(claimed) < wanted:  # all that is due is under way
                await self.pause(self.polling.after(len(claimed)))
            else:
                await self.room_for(self.batch_worth())
        if self.tasks:
            await asyncio.wait(self.tasks)
        recorder.cancel()
        await self.sender.close()
        log.info("dispatcher stopped")

    def batch_worth(self) -> int:
        """The free slots worth a claim while deliveries are waiting: a quarter of them, or a
        whole batch if that is less."""
        quarter = max(1, self.settings.dispatcher_max_in_flight // 4)
        return min(quarter, self.settings.dispatcher_batch_size)

    async def room_for(self, slots: int) -> None:
        """Waits until that many slots are free, or the stop."""
        while self.free_slots() < slots and not self.stopping.is_set():
            await self.pause(self.settings.dispatcher_poll_interval_s)

    def free_slots(self) -> int:
        return self.settings.dispatcher_max_in_flight - len(self.tasks)

    async def pause(self, seconds: float) -> None:
        """Waits until the time is up, a request finishes (a slot is free) or the stop."""
        stop = asyncio.ensure_future(self.stopping.wait())
        try:
            await asyncio.wait({stop, *self.tasks}, timeout=seconds, return_when="FIRST_COMPLETED")
        finally:
            stop.cancel()

    async def claim(self, wanted: int) -> list[Delivery]:
        if wanted <= 0:
            return []
        limit = self.settings.dispatcher_max_in_flight_per_endpoint
        busy = {subscriber for subscriber, count in self.per_endpoint.items() if count >= limit}
        return await asyncio.to_thread(
            dispatch.claim_due,
            self.unit_of_work,
            wanted,
            timedelta(seconds=self.settings.dispatcher_lease_s),
            busy,
            limit,
        )

    def start(self, delivery: Delivery) -> None:
        self.per_endpoint[delivery.subscriber_id] += 1
        task = asyncio.create_task(self.deliver(delivery))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def deliver(self, delivery: Delivery) -> None:
        slots = self.endpoint_slots.setdefault(
            delivery.subscriber_id,
            asyncio.Semaphore(self.settings.dispatcher_max_in_flight_per_endpoint),
        )
        try:
            async with slots:
                outcome = await self.attempt(delivery)
            recorded: asyncio.Future[Verdict | None] = asyncio.get_running_loop().create_future()
            self.outcomes.put_nowait((delivery, outcome, recorded))
            verdict = await recorded
            if verdict is not None:
                self.count(delivery, verdict)
        finally:
            self.per_endpoint[delivery.subscriber_id] -= 1
            if self.per_endpoint[delivery.subscriber_id] <= 0:
                del self.per_endpoint[delivery.subscriber_id]
                self.endpoint_slots.pop(delivery.subscriber_id, None)

    async def attempt(self, delivery: Delivery) -> Outcome:
        started = time.perf_counter()
        IN_FLIGHT.inc()
        try:
            return await self.sender.send(delivery)
        except Exception as error:  # a stored URL or secret the HTTP client refuses, say
            return Outcome.failure(describe(error))
        finally:
            IN_FLIGHT.dec()
            REQUEST_SECONDS.observe(time.perf_counter() - started)

    async def record_outcomes(self) -> None:
        """Records the outcomes as they come, all those waiting in one transaction. A batch the
        database refuses is recorded one outcome at a time, so that one bad outcome holds only its
        own slot; one that cannot be recorded at all is left to its lease: sent again later."""
        while True:
            batch = [await self.outcomes.get()]
            while not self.outcomes.empty() and len(batch) < RECORD_BATCH:
                batch.append(self.outcomes.get_nowait())
            attempts = [(delivery, outcome) for delivery, outcome, _ in batch]
            verdicts: list[Verdict | None]
            try:
                recorded_all = await self.record(attempts)
                verdicts = [None] * len(batch) if recorded_all is None else list(recorded_all)
            except Exception as error:
                log.error("the database refuses a batch of outcomes", error=describe(error))
                verdicts = [await self.record_alone(attempt) for attempt in attempts]
            for (_, _, recorded), verdict in zip(batch, verdicts, strict=True):
                if not recorded.done():
                    recorded.set_result(verdict)

    async def record_alone(self, attempt: tuple[Delivery, Outcome]) -> Verdict | None:
        try:
            recorded = await self.record([attempt])
        except Exception as error:
            log.error(
                "cannot record a webhook attempt; it is sent again when its lease ends",
                webhook_id=attempt[0].webhook_id,
                error=describe(error),
            )
            return None
        return None if recorded is None else recorded[0]

    async def record(self, attempts: list[tuple[Delivery, Outcome]]) -> list[Verdict] | None:
        """Retries while the database is away or busy, until the stop (then None: the leases run
        out and the deliveries are sent again, at least once); raises what the database refuses."""
        backoff = 0.1
        while True:
            try:
                return await asyncio.to_thread(
                    dispatch.record_attempts, self.unit_of_work, attempts, self.policy, self.rng
                )
            except Exception as error:
                if blames_the_data(error):
                    raise
                log.warning(
                    "cannot record webhook attempts; retrying",
                    attempts=len(attempts),
                    error=describe(error),
                )
                if self.stopping.is_set():
                    return None
                await asyncio.sleep(backoff)
                backoff = min(MAX_BACKOFF_S, backoff * 2)

    @staticmethod
    def count(delivery: Delivery, verdict: Verdict) -> None:
        context = {
            "event_id": delivery.event_id,
            "subscriber_id": delivery.subscriber_id,
            "webhook_id": delivery.webhook_id,
            "attempts": verdict.attempts,
        }
        match verdict.status:
            case Status.DELIVERED:
                ATTEMPTS.labels("delivered").inc()
                ATTEMPTS_TO_DELIVER.observe(verdict.attempts)
                # A delivered verdict's next_attempt_at is the moment of the 2xx.
                DELIVERY_SECONDS.observe(
                    (verdict.next_attempt_at - delivery.created_at).total_seconds()
                )
                # Thousands a second at full rate: the table and the metrics count them; a line
                # each only when asked for (LOG_LEVEL=DEBUG). Failures are always logged.
                log.debug("webhook delivered", **context)
            case Status.PENDING:
                ATTEMPTS.labels("retry").inc()
                log.warning(
                    "webhook attempt failed; will retry",
                    error=verdict.error,
                    next_attempt_at=verdict.next_attempt_at.isoformat(),
                    **context,
                )
            case Status.DEAD:
                ATTEMPTS.labels("dead").inc()
                log.error("webhook delivery dead", error=verdict.error, **context)

    async def measure_backlog_when_due(self) -> None:
        """A count that fails leaves the gauges as they were, their time of measure with them,
        and nothing else: the deliveries just claimed are under way (dropped, they would have
        waited out their lease)."""
        if time.monotonic() < self.next_backlog:
            return
        self.next_backlog = time.monotonic() + BACKLOG_EVERY_S
        try:
            backlog = await asyncio.to_thread(dispatch.backlog, self.unit_of_work)
        except Exception as error:
            log.warning("cannot measure the delivery backlog", error=describe(error))
            return
        PENDING.set(backlog.pending)
        OLDEST_PENDING_AGE.set(backlog.oldest_pending_age_s)
        DEAD.set(backlog.dead)
        BACKLOG_MEASURED_AT.set_to_current_time()


def describe(error: BaseException) -> str:
    """The error's type and message; the driver's own for a database error (not the statement)."""
    cause = driver_error(error)
    return f"{type(cause).__name__}: {cause}"


async def serve(dependencies: DispatcherDependencies) -> None:
    dispatcher = Dispatcher(dependencies)
    settings = dependencies.deps.settings
    serve_metrics(
        settings.dispatcher_metrics_host, settings.dispatcher_metrics_port, dispatcher.is_ready
    )
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, dispatcher.stop)
    freeze_startup_heap()
    await dispatcher.run()


def run(dependencies: DispatcherDependencies) -> None:
    asyncio.run(serve(dependencies))


def retry_dead_deliveries(settings: Settings, subscriber_id: int | None = None) -> int:
    """The command that retries what gave up: the dead deliveries, of one subscriber or of all,
    pending again and due at once, with the whole retry policy ahead of them."""
    deps = bootstrap(settings)
    try:
        revived = retry_dead(deps.unit_of_work, subscriber_id)
    finally:
        deps.engine.dispose()
    whose = "every subscriber" if subscriber_id is None else f"subscriber {subscriber_id}"
    print(f"{revived} dead deliveries of {whose} are pending again")
    return revived
