"""The open-loop generator: requests leave at a fixed arrival rate, whatever the server does.

A request's latency is measured from the time it was *scheduled*, not from when it was sent:
a slow server cannot hide its queue by slowing the generator down (coordinated omission).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp


@dataclass
class Sent:
    """One POST /posts: when it was due, how it went, and the event it created."""

    scheduled_s: float  # from the start of the run
    latency_ms: float
    status: int  # 0: no answer (connection refused, reset, timeout)
    author_id: int
    event_id: str | None = None
    post_id: int | None = None
    title: str = ""  # unique in the run: how a post of unknown outcome is found afterwards

    @property
    def outcome_unknown(self) -> bool:
        """No answer, or a server error: the post may have been stored all the same."""
        return self.status == 0 or self.status >= 500

    @property
    def stored(self) -> bool:
        """Accepted with a 201, or found stored afterwards (see Auditor.resolve_unknown)."""
        return self.event_id is not None


async def post_at_rate(
    post_url: str,
    rate: float,
    duration_s: float,
    authors: list[int],
    started: float,
    on_sent: Callable[[Sent], None],
    run_id: str,
    connections: int = 64,
) -> list[Sent]:
    """Sends rate * duration posts, request i due at started + i / rate."""
    total = round(rate * duration_s)
    timeout = aiohttp.ClientTimeout(total=10)
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(post_url, connector=connector, timeout=timeout) as session:

        async def one(i: int, due: float) -> Sent:
            author = random.choice(authors)
            title = f"load {run_id}-{i} 🚀"
            body = {"author_id": author, "title": title, "content": "open-loop load"}
            status, created = 0, {}
            try:
                async with session.post("/posts", json=body) as response:
                    status = response.status
                    if status == 201:
                        created = await response.json()
            except (aiohttp.ClientError, TimeoutError):
                pass
            sent = Sent(
                scheduled_s=due - started,
                latency_ms=(time.monotonic() - due) * 1000,
                status=status,
                author_id=author,
                event_id=created.get("event_id"),
                post_id=created.get("post_id"),
                title=title,
            )
            on_sent(sent)
            return sent

        tasks = []
        for i in range(total):
            due = started + i / rate
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i, due)))
        return list(await asyncio.gather(*tasks))
