"""Group commit: requests that arrive while a transaction is being written share the next one,
so that under load a COMMIT (and its durable write) serves many requests instead of one."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

import anyio.to_thread
from prometheus_client import Histogram

BATCH_SIZE = Histogram(
    "group_commit_batch_requests",
    "Requests written together in one batch by group commit",
    buckets=(1, 2, 4, 8, 16, 32, 64),
)
Request = TypeVar("Request")
Answer = TypeVar("Answer")


class GroupCommit(Generic[Request, Answer]):
    """Takes requests on the event loop and hands them to `write` in batches, each batch in one
    of the routes' threads. `committers` batches are written at once. A committer takes the first
    request waiting, waits `linger_s` for company, then takes every request waiting, up to
    `max_batch`: the busier the service, the more a COMMIT serves.

    `write` answers each request in its place: its answer, or an exception that is that
    request's own. An exception `write` raises answers every request of the batch alike, and the
    committer goes on with the next."""

    def __init__(
        self,
        write: Callable[[Sequence[Request]], Sequence[Answer | Exception]],
        *,
        committers: int,
        max_batch: int,
        linger_s: float = 0.0,
    ) -> None:
        if committers < 1 or max_batch < 1 or linger_s < 0:
            raise ValueError("group commit needs a committer, a batch of one, and no negative wait")
        self.write = write
        self.committers = committers
        self.max_batch = max_batch
        self.linger_s = linger_s
        self.waiting: asyncio.Queue[tuple[Request, asyncio.Future[Answer]]] = asyncio.Queue()

    async def submit(self, request: Request) -> Answer:
        """The request's answer once its batch is written; raises the request's exception."""
        answered: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self.waiting.put_nowait((request, answered))
        return await answered

    async def run(self) -> None:
        """Writes batches until cancelled (the application's lifespan runs it)."""
        async with asyncio.TaskGroup() as committers:
            for _ in range(self.committers):
                committers.create_task(self._commit_batches())

    async def _commit_batches(self) -> None:
        while True:
            batch = [await self.waiting.get()]
            try:
                await self._fill(batch)
                outcomes = await anyio.to_thread.run_sync(self.write, [r for r, _ in batch])
                if len(outcomes) != len(batch):  # no answer by position when they do not match
                    raise RuntimeError(f"{len(batch)} requests, {len(outcomes)} answers")
                for (_, answered), outcome in zip(batch, outcomes, strict=True):
                    _settle(answered, outcome)
            except asyncio.CancelledError:  # the service is stopping
                for _, answered in batch:
                    answered.cancel()
                raise
            except Exception as error:  # the whole batch's answer; the committer goes on
                for _, answered in batch:
                    _settle(answered, error)

    async def _fill(self, batch: list[tuple[Request, asyncio.Future[Answer]]]) -> None:
        """Adds the requests that came within linger_s of the first, up to max_batch. A full
        batch waiting already is written at once."""
        if self.linger_s > 0 and self.waiting.qsize() < self.max_batch - len(batch):
            await asyncio.sleep(self.linger_s)
        while len(batch) < self.max_batch and not self.waiting.empty():
            batch.append(self.waiting.get_nowait())
        BATCH_SIZE.observe(len(batch))


def _settle(answered: asyncio.Future[Answer], outcome: Answer | Exception) -> None:
    if answered.done():  # its request was cancelled, or was answered before the batch failed
        return
    if isinstance(outcome, Exception):
        answered.set_exception(outcome)
    else:
        answered.set_result(outcome)
