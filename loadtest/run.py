"""One load run: subscribe a fresh audience, post at a fixed rate while faults strike, wait for
delivery, then audit every post."""

from __future__ import annotations

import asyncio
import random
import sys
import time
import uuid
from dataclasses import dataclass, field

import uvloop
from sqlalchemy import Engine

from chassis.database import create_engine
from deploy import parts
from loadtest.audit import Audience, Auditor, ReadModelAudit
from loadtest.faults import Fault, inject
from loadtest.generator import Changed, Sent, change_at_rate, post_at_rate
from loadtest.receiver import Receiver
from loadtest.report import Run
from post_service.settings import Settings as PostSettings
from subscribe_service.adapters.kafka import AFTER_KAFKA_RESTART_S
from subscribe_service.settings import Settings as SubscribeSettings

# Far above the ids people and tests use, so a run's notifications are its own.
_ID_LOW, _ID_HIGH = 10**15, 2 * 10**15
# Once every expected webhook arrived: how long the receiver still listens for ones that should
# not come (sent again with other bytes, or for a post nobody made).
LINGER_S = 2.0


@dataclass
class Scenario:
    rate: float
    duration_s: float
    authors: int = 10
    subscribers: int = 1
    faults: list[Fault] = field(default_factory=list)
    post_url: str = parts.POST_SERVICE.url
    subscribe_url: str = parts.SUBSCRIBE_API.url
    # After the last request and the faults' end: how long delivery, the edits and the read model
    # may take, all together, before what is missing counts as lost.
    drain_timeout_s: float = AFTER_KAFKA_RESTART_S
    # Off: each request is sent once, whatever it gets (to see what the server answers first).
    retries: bool = True
    # The client's connections: more than the server takes at once (the post service's
    # http_max_in_flight, 128), or overload would queue in the client, not meet the server's limit.
    connections: int = 256
    # Off: subscribers register no endpoint, and the run measures at the notifications table only.
    webhooks: bool = True
    # The share of requests the receiver fails while a receiver-errors or -timeouts fault lasts.
    receiver_fail_share: float = 0.5
    # Where the run's webhook receiver listens: an address the dispatchers reach (the bridge's
    # in the cluster topology).
    receiver_host: str = parts.WEBHOOK_RECEIVERS_HOST
    # Edits and deletions of the run's posts, beside the creations: so many per creation.
    edit_share: float = 0.0
    delete_share: float = 0.0

    def changes(self) -> tuple[float, float]:
        """Changes per second, and the share of them that are deletions."""
        per_creation = self.edit_share + self.delete_share
        if per_creation <= 0:
            return 0.0, 0.0
        return self.rate * per_creation, self.delete_share / per_creation


def audience_for(scenario: Scenario) -> Audience:
    authors = [random.randint(_ID_LOW, _ID_HIGH) for _ in range(scenario.authors)]
    subscribers = {
        author: [random.randint(_ID_LOW, _ID_HIGH) for _ in range(scenario.subscribers)]
        for author in authors
    }
    return Audience(authors, subscribers)


class Progress:
    """A line a second on stderr: the rate achieved, errors, and the backlog still undelivered."""

    def __init__(self, auditor: Auditor, started: float, receiver: Receiver | None) -> None:
        self.auditor = auditor
        self.started = started
        self.receiver = receiver
        self.sent: list[Sent] = []

    def record(self, sent: Sent) -> None:
        self.sent.append(sent)

    async def report_every_second(self) -> None:
        while True:
            await asyncio.sleep(1)
            await self.print_line()

    async def print_line(self) -> int:
        delivered = await asyncio.to_thread(self.auditor.notification_count)
        elapsed = time.monotonic() - self.started
        errors = sum(1 for s in self.sent if s.status != 201)
        backlog = self.auditor.expected(self.sent) - delivered
        received = "" if self.receiver is None else f" at-receiver={len(self.receiver.arrivals)}"
        print(
            f"t={elapsed:5.1f}s sent={len(self.sent)} ({len(self.sent) / elapsed:.0f}/s) "
            f"errors={errors} notifications={delivered} backlog={backlog}{received}",
            file=sys.stderr,
            flush=True,
        )
        return backlog


def audit_engines() -> tuple[Engine, Engine]:
    """The audit reads the subscribe database, and the post database for unknown outcomes, each
    as its service's user (passwords from the environment: load_native_secrets on the native
    stack)."""
    subscribe, post = SubscribeSettings(), PostSettings()
    subscribe_url = subscribe.db_url(subscribe.service_db_user, subscribe.service_db_password)
    post_url = post.db_url(post.service_db_user, post.service_db_password)
    return create_engine(subscribe_url, 2), create_engine(post_url, 2)


def perform(scenario: Scenario) -> Run:
    """The run, on uvloop's event loop (the services' too, under uvicorn). The load generator
    shares the machine's cores with the system it measures: at 1,000 posts/s, asyncio's own loop
    cost it 0.38 ms of CPU a post, uvloop's 0.28 (docs/benchmarks.md, "The load generator on
    uvloop")."""
    return uvloop.run(run(scenario))


async def run(scenario: Scenario) -> Run:
    engine, post_engine = audit_engines()
    receiver = (
        Receiver(scenario.receiver_fail_share, scenario.receiver_host)
        if scenario.webhooks
        else None
    )
    try:
        if receiver is not None:
            await receiver.start()
        auditor = Auditor(engine, audience_for(scenario), post_engine)
        try:
            return await run_with(scenario, auditor, receiver)
        finally:
            if receiver is not None:
                await auditor.audience.remove_endpoints(scenario.subscribe_url)
    finally:
        if receiver is not None:
            await receiver.stop()
        engine.dispose()
        post_engine.dispose()


async def run_with(scenario: Scenario, auditor: Auditor, receiver: Receiver | None) -> Run:
    audience = auditor.audience
    await audience.subscribe(scenario.subscribe_url, receiver)
    started, started_epoch = time.monotonic(), time.time()
    progress = Progress(auditor, started, receiver)
    printer = asyncio.create_task(progress.report_every_second())
    injected = [asyncio.create_task(inject(fault, started, receiver)) for fault in scenario.faults]

    change_rate, delete_share = scenario.changes()
    changing = asyncio.create_task(
        change_at_rate(
            scenario.post_url,
            change_rate,
            scenario.duration_s,
            started,
            lambda: progress.sent,
            delete_share,
        )
    )
    sent = await post_at_rate(
        scenario.post_url,
        scenario.rate,
        scenario.duration_s,
        audience.authors,
        started,
        progress.record,
        run_id=uuid.uuid4().hex[:12],
        retries=scenario.retries,
        connections=scenario.connections,
    )
    changed = await changing
    load_ended = time.monotonic()
    windows = list(await asyncio.gather(*injected))
    # One drain for all that is awaited, from the faults' end: what is missing then is lost.
    drained_by = time.monotonic() + scenario.drain_timeout_s
    # The read model is polled from the load's end, beside the events' own drain: its
    # convergence time is its own, not theirs plus its.
    converging = asyncio.create_task(wait_for_read_model(auditor, load_ended, drained_by))
    await asyncio.to_thread(auditor.resolve_unknown, sent)
    await wait_for_delivery(auditor, sent, drained_by, receiver)
    await wait_for_changes(auditor, changed, drained_by)
    read_model = await converging
    printer.cancel()
    await progress.print_line()
    return Run(
        rate=scenario.rate,
        duration_s=scenario.duration_s,
        subscribers_per_author=scenario.subscribers,
        started_epoch=started_epoch,
        sent=sent,
        changed=changed,
        audit=auditor.audit(sent, changed),
        faults=windows,
        receiver=None if receiver is None else audience.audit_receiver(receiver, sent, started),
        read_model=read_model,
    )


async def wait_for_read_model(
    auditor: Auditor, load_ended: float, deadline: float
) -> ReadModelAudit:
    """Polls until the read model's checksum equals its source's, or the deadline (monotonic)
    passes; then counts the rows that differ (0 once converged)."""
    while True:
        source, replica = await asyncio.to_thread(auditor.checksums)
        if source == replica:
            converged_s = round(time.monotonic() - load_ended, 2)
            lags = await asyncio.to_thread(auditor.read_model_lags_ms)
            return ReadModelAudit(source[0], 0, converged_s, lags)
        if time.monotonic() >= deadline:
            differing = await asyncio.to_thread(auditor.differing_rows)
            return ReadModelAudit(source[0], differing, None)
        await asyncio.sleep(0.5)


async def wait_for_changes(auditor: Auditor, changed: list[Changed], deadline: float) -> None:
    """Polls until the consumer has applied every edit and deletion that was answered, or the
    deadline (monotonic) passes: what is still missing then counts as lost in the audit."""
    while time.monotonic() < deadline:
        edits = await asyncio.to_thread(auditor.edits_not_applied, changed)
        if edits == 0 and await asyncio.to_thread(auditor.deletions_not_applied, changed) == 0:
            return
        await asyncio.sleep(0.5)


async def wait_for_delivery(
    auditor: Auditor, sent: list[Sent], deadline: float, receiver: Receiver | None
) -> None:
    """Polls until every expected (event, subscriber) pair is committed, and with webhooks has
    reached the receiver, or the deadline (monotonic) passes. Pairs, not a count: a post stored
    despite a timeout adds notifications that a count would take for the ones still missing."""
    while time.monotonic() < deadline:
        if await asyncio.to_thread(auditor.missing, sent, receiver) == 0:
            if receiver is not None:
                await asyncio.sleep(LINGER_S)  # what comes late and no post causes is counted
            return
        await asyncio.sleep(0.5)
