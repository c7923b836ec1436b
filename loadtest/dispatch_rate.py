"""How fast the dispatcher delivers webhooks to a local receiver, beside a baseline of the same run:
a bare HTTP client POSTing the same signed requests to the same receiver, as many at once as the
dispatcher may send (`make benchmarks`).

The dispatcher is stopped while the posts are made and the consumer writes their deliveries, so
that it starts with a backlog; its rate is counted from the first arrival to the last.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import aiohttp
from sqlalchemy import func, select

from deploy import parts
from loadtest.audit import Audience, Auditor
from loadtest.faults import make
from loadtest.generator import post_at_rate
from loadtest.receiver import Receiver
from loadtest.run import Scenario, audience_for, audit_engines
from subscribe_service.adapters.tables import webhook_deliveries
from subscribe_service.adapters.webhook_sender import signed_headers
from subscribe_service.domain.deliveries import Delivery
from subscribe_service.settings import Settings

POST_RATE = 200.0


@dataclass(frozen=True)
class DispatchRate:
    deliveries: int
    dispatcher_per_s: float
    baseline_per_s: float


def written(auditor: Auditor) -> int:
    """Deliveries the consumer has written for the run's subscribers."""
    with auditor.engine.connect() as connection:
        query = select(func.count()).where(
            webhook_deliveries.c.subscriber_id.in_(auditor.audience.all_subscribers)
        )
        return connection.scalar(query) or 0


async def wait_until(check: Callable[[], bool], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not await asyncio.to_thread(check):
        if time.monotonic() > deadline:
            raise TimeoutError("the benchmark's deliveries did not come in time")
        await asyncio.sleep(0.2)


async def dispatcher_rate(
    receiver: Receiver, audience: Audience, auditor: Auditor, posts: int
) -> int:
    """Returns how many deliveries reached the receiver; their arrival times are in it."""
    await audience.subscribe(parts.SUBSCRIBE_API.url, receiver)
    await asyncio.to_thread(make, "stop-subscribe-dispatcher")
    try:
        sent = await post_at_rate(
            parts.POST_SERVICE.url,
            POST_RATE,
            posts / POST_RATE,
            audience.authors,
            time.monotonic(),
            lambda _: None,
            run_id=uuid.uuid4().hex[:12],
        )
        expected = len(audience.pairs(sent))
        await wait_until(lambda: written(auditor) >= expected, timeout_s=300)
    finally:
        await asyncio.to_thread(make, "start-subscribe-dispatcher")
    await wait_until(lambda: len(receiver.arrivals) >= expected, timeout_s=600)
    return expected


def steady_rate(arrivals: list[float]) -> float:
    """Arrivals per second between the first and the last tenth of them: the rate once the
    sender is under way, without its start (a process starting, connections opening) and without
    its last stragglers, measured the same way for the dispatcher and its baseline."""
    moments = sorted(arrivals)
    first, last = moments[len(moments) // 10], moments[len(moments) * 9 // 10]
    return (len(moments) * 9 // 10 - len(moments) // 10) / max(last - first, 1e-9)


async def baseline_rate(receiver: Receiver, count: int, concurrency: int) -> None:
    """Signed POSTs of a delivery's size from a bare client, `concurrency` at once; their
    arrivals are in the receiver."""
    body = b'{"type":"post.created","timestamp":"2026-12-02T00:00:00Z","data":{"event_id":"' + (
        b'00000000-0000-0000-0000-000000000000","subscriber_id":1,"post_id":1,"author_id":1,'
        b'"title":"load","created_at":"2026-12-02T00:00:00Z"}}'
    )
    secret = receiver.secret_for(1)
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(count):
        queue.put_nowait(n)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            while not queue.empty():
                n = queue.get_nowait()
                delivery = Delivery(n, f"msg_baseline_{n}", "", 1, body, 0, datetime.now(UTC), None)
                headers = signed_headers(delivery, secret, datetime.now(UTC))
                async with session.post(receiver.url_for(1), data=body, headers=headers) as answer:
                    answer.raise_for_status()

        await asyncio.gather(*(worker() for _ in range(concurrency)))


async def measure_async(subscribers: int, posts: int) -> DispatchRate:
    engine, post_engine = audit_engines()
    receiver = Receiver()
    await receiver.start()
    try:
        audience = audience_for(Scenario(rate=1, duration_s=1, authors=1, subscribers=subscribers))
        auditor = Auditor(engine, audience, post_engine)
        count = await dispatcher_rate(receiver, audience, auditor, posts)
        dispatcher = steady_rate([a.at_monotonic for a in receiver.arrivals.values()])
        receiver.arrivals.clear()
        await baseline_rate(receiver, count, Settings().dispatcher_max_in_flight)
        baseline = steady_rate([a.at_monotonic for a in receiver.arrivals.values()])
        await audience.remove_endpoints(parts.SUBSCRIBE_API.url)
        return DispatchRate(count, dispatcher, baseline)
    finally:
        await receiver.stop()
        engine.dispose()
        post_engine.dispose()


def measure(subscribers: int = 50, posts: int = 200) -> DispatchRate:
    return asyncio.run(measure_async(subscribers, posts))
