"""The open-loop generator: requests leave at a fixed arrival rate, whatever the server does,
and each is retried with its idempotency key until it has a definite answer.

A request's latency is measured from the time it was *scheduled*, not from when it was sent:
a slow server cannot hide its queue by slowing the generator down (coordinated omission).
"""

from __future__ import annotations

import asyncio
import gc
import json
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp


def unanswered_or_5xx(status: int) -> bool:
    """No answer (status 0), or a server error: nothing definite came back."""
    return status == 0 or status >= 500


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
    attempts: int = 1  # the first request and its retries, all with one idempotency key

    @property
    def outcome_unknown(self) -> bool:
        """No answer, or a server error: the post may have been stored all the same."""
        return unanswered_or_5xx(self.status)

    @property
    def stored(self) -> bool:
        """Accepted with a 201, or found stored afterwards (see Auditor.resolve_unknown)."""
        return self.event_id is not None


# The oldest generation's threshold while the load runs: a full collection never comes.
NEVER = 2**31 - 1


@contextmanager
def without_full_collections() -> Iterator[None]:
    """No full garbage collection while the load runs. The generator keeps a record of every
    request, and Python's full collections walk them all: at 1,000 posts/s they held its event
    loop up to 128 ms, the requests due meanwhile left late and in a burst, and their latencies
    counted the generator's pause (docs/benchmarks.md, "Garbage collection pauses"). What was
    alive before the load is frozen; the young generations, where a request's short-lived cycles
    die, are still collected; the rest waits for the load's end."""
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(thresholds[0], thresholds[1], NEVER)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


# A client that retries as a real one would: after a timeout, a reset or a 5xx, again with the
# same Idempotency-Key (so a retry never makes a second post), honouring Retry-After.
BACKOFF_S = (0.2, 0.5, 1.0, 2.0, 4.0)
RETRIED_STATUSES = frozenset({409, 429, 500, 502, 503, 504})


async def post_at_rate(
    post_url: str,
    rate: float,
    duration_s: float,
    authors: list[int],
    started: float,
    on_sent: Callable[[Sent], None],
    run_id: str,
    retries: bool = True,
    connections: int = 64,
) -> list[Sent]:
    """Sends rate * duration posts, request i due at started + i / rate, each retried with its
    idempotency key until it has a definite answer or its attempts are spent (unless retries is
    off: then each request is sent once, to measure what the server answers first)."""
    backoffs = (*BACKOFF_S, None) if retries else (None,)
    total = round(rate * duration_s)
    timeout = aiohttp.ClientTimeout(total=10)
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(post_url, connector=connector, timeout=timeout) as session:

        async def attempt(body: dict[str, object], key: str) -> tuple[int, dict[str, Any], float]:
            """(status, the 201's body, seconds to wait before a retry)."""
            try:
                async with session.post(
                    "/posts", json=body, headers={"Idempotency-Key": key}
                ) as response:
                    if response.status == 201:
                        return 201, await response.json(), 0.0
                    # Read, so that the connection serves the next request: one left unread is
                    # closed (and reset), and the next opens a new one, as the server sheds load.
                    await response.read()
                    retry_after = float(response.headers.get("Retry-After", 0) or 0)
                    return response.status, {}, retry_after
            except (aiohttp.ClientError, TimeoutError):
                return 0, {}, 0.0

        async def one(i: int, due: float) -> Sent:
            author = random.choice(authors)
            title = f"load {run_id}-{i} 🚀"
            body = {"author_id": author, "title": title, "content": "open-loop load"}
            status, attempts = 0, 0
            created: dict[str, Any] = {}
            for backoff_s in backoffs:
                attempts += 1
                status, created, retry_after_s = await attempt(body, f"{run_id}-{i}")
                definite = status != 0 and status not in RETRIED_STATUSES
                if definite or backoff_s is None:
                    break
                await asyncio.sleep(max(backoff_s, retry_after_s) * random.uniform(0.8, 1.2))
            sent = Sent(
                scheduled_s=due - started,
                latency_ms=(time.monotonic() - due) * 1000,
                status=status,
                author_id=author,
                event_id=created.get("event_id"),
                post_id=created.get("post_id"),
                title=title,
                attempts=attempts,
            )
            on_sent(sent)
            return sent

        with without_full_collections():
            tasks = []
            for i in range(total):
                due = started + i / rate
                delay = due - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(one(i, due)))
            return list(await asyncio.gather(*tasks))


@dataclass
class Changed:
    """One PATCH or DELETE of a post the run made, sent once."""

    kind: str  # "edit" or "delete"
    post_id: int
    scheduled_s: float  # when it was due, from the start of the run
    status: int  # 0: no answer
    answered_s: float  # when its answer (or its failure) came, from the start of the run
    version: int | None = None  # an edit's answer: the post's version after it
    refusal: str | None = None  # unanswered or 5xx: the answer's detail, or the client's error


def _version_in(answer: str) -> int | None:
    """An edit's 200 carries the post's new version; an answer that does not is reported as
    such (no version), not a crash of the run."""
    try:
        version = json.loads(answer).get("version")
    except (ValueError, AttributeError):
        return None
    return version if isinstance(version, int) else None


async def change_at_rate(
    post_url: str,
    rate: float,
    duration_s: float,
    started: float,
    made: Callable[[], list[Sent]],
    delete_share: float,
) -> list[Changed]:
    """Edits and deletions of the posts the run has made so far (`made`), at a fixed arrival
    rate beside the creations; a share of them deletions. An edit changes the content only: the
    title is how the audit finds a post again. Each is sent once: the audit counts what the
    consumer applied, not what the client wished."""
    total = round(rate * duration_s)
    deleted: set[int] = set()
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(post_url, timeout=timeout) as session:

        async def one(i: int, post: Sent) -> Changed:
            assert post.post_id is not None
            delete = random.random() < delete_share
            kind = "delete" if delete else "edit"
            status, version, refusal = 0, None, None
            try:
                if delete:
                    deleted.add(post.post_id)
                    params = {"author_id": post.author_id}
                    async with session.delete(f"/posts/{post.post_id}", params=params) as answer:
                        text = await answer.text(errors="replace")
                        status = answer.status
                else:
                    body = {"author_id": post.author_id, "content": f"edit {i}"}
                    async with session.patch(f"/posts/{post.post_id}", json=body) as answer:
                        text = await answer.text(errors="replace")
                        status = answer.status
                        version = _version_in(text) if status == 200 else None
                if unanswered_or_5xx(status):
                    refusal = text[:200]
            except (aiohttp.ClientError, TimeoutError) as error:
                status, refusal = 0, f"{type(error).__name__}: {error}"[:200]
            answered_s = time.monotonic() - started
            return Changed(kind, post.post_id, i / rate, status, answered_s, version, refusal)

        tasks = []
        for i in range(total):
            delay = started + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            alive = [s for s in made() if s.post_id is not None and s.post_id not in deleted]
            if alive:
                tasks.append(asyncio.create_task(one(i, random.choice(alive))))
        return list(await asyncio.gather(*tasks))
