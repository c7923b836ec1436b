"""Group commit: requests waiting while a batch is written share the next batch, and each gets
its own answer, whatever the others' are."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chassis.group_commit import GroupCommit


class Refused(Exception):
    """One request's own error."""


class Writer:
    """Answers each request with its double, or with its own error when it is negative; can hold
    its batches until let go, and records them."""

    def __init__(self, hold: bool = False) -> None:
        self.batches: list[list[int]] = []
        self.let_go = threading.Event()
        if not hold:
            self.let_go.set()
        self.writing = threading.Semaphore(0)

    def __call__(self, requests: Sequence[int]) -> list[int | Exception]:
        self.batches.append(list(requests))
        self.writing.release()
        assert self.let_go.wait(timeout=10)
        return [Refused(n) if n < 0 else 2 * n for n in requests]


async def serving(group_commit: GroupCommit[int, int], work: Callable[[], Awaitable[None]]) -> None:
    running = asyncio.create_task(group_commit.run())
    try:
        await work()
    finally:
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running


async def until_writing(writer: Writer, batches: int = 1) -> None:
    for _ in range(batches):
        assert await asyncio.to_thread(writer.writing.acquire, timeout=10)


@given(st.lists(st.integers(-5, 50), min_size=1, max_size=40), st.integers(1, 3), st.integers(1, 8))
def test_each_request_gets_its_own_answer_whatever_the_batches(
    requests: list[int], committers: int, max_batch: int
) -> None:
    writer = Writer()
    group_commit = GroupCommit(writer, committers=committers, max_batch=max_batch)
    answers: list[int | BaseException] = []

    async def work() -> None:
        results = await asyncio.gather(
            *(group_commit.submit(n) for n in requests), return_exceptions=True
        )
        answers.extend(results)

    asyncio.run(serving(group_commit, work))

    for request, answer in zip(requests, answers, strict=True):
        if request < 0:
            assert isinstance(answer, Refused)
            assert answer.args == (request,)
        else:
            assert answer == 2 * request
    assert sorted(n for batch in writer.batches for n in batch) == sorted(requests)
    assert max(len(batch) for batch in writer.batches) <= max_batch


def test_requests_that_arrive_while_a_batch_is_written_share_the_next() -> None:
    writer = Writer(hold=True)
    group_commit = GroupCommit(writer, committers=1, max_batch=32)

    async def work() -> None:
        first = asyncio.create_task(group_commit.submit(1))
        await until_writing(writer)
        later = [asyncio.create_task(group_commit.submit(n)) for n in range(2, 7)]
        await asyncio.sleep(0)  # they wait in the queue: the only committer is busy
        writer.let_go.set()
        assert await first == 2
        assert await asyncio.gather(*later) == [4, 6, 8, 10, 12]

    asyncio.run(serving(group_commit, work))
    assert writer.batches == [[1], [2, 3, 4, 5, 6]]


def test_each_committer_writes_a_batch_at_once() -> None:
    writer = Writer(hold=True)
    group_commit = GroupCommit(writer, committers=2, max_batch=32)

    async def work() -> None:
        first = asyncio.create_task(group_commit.submit(1))
        await until_writing(writer)
        second = asyncio.create_task(group_commit.submit(2))
        await until_writing(writer)  # while the first is still held
        writer.let_go.set()
        assert (await first, await second) == (2, 4)

    asyncio.run(serving(group_commit, work))
    assert writer.batches == [[1], [2]]


def test_an_error_of_the_whole_batch_answers_each_request_and_the_next_batch_is_written() -> None:
    calls: list[list[int]] = []

    def write(requests: Sequence[int]) -> list[int | Exception]:
        calls.append(list(requests))
        if len(calls) == 1:
            raise ConnectionError("the database is away")
        return [n for n in requests]

    group_commit = GroupCommit(write, committers=1, max_batch=32)

    async def work() -> None:
        answers = await asyncio.gather(
            group_commit.submit(1), group_commit.submit(2), return_exceptions=True
        )
        assert [type(a) for a in answers] == [ConnectionError, ConnectionError]
        assert await group_commit.submit(3) == 3

    asyncio.run(serving(group_commit, work))
    assert calls == [[1, 2], [3]]


def test_a_writer_that_answers_the_wrong_number_fails_its_batch_not_the_committer() -> None:
    calls: list[list[int]] = []

    def write(requests: Sequence[int]) -> list[int | Exception]:
        calls.append(list(requests))
        answers: list[int | Exception] = list(requests)
        return answers[:1] if len(calls) == 1 else answers

    group_commit = GroupCommit(write, committers=1, max_batch=32)

    async def work() -> None:
        first, second = await asyncio.gather(
            group_commit.submit(1), group_commit.submit(2), return_exceptions=True
        )
        # Neither is answered by position: the one answer may be either request's.
        assert isinstance(first, RuntimeError)
        assert isinstance(second, RuntimeError)
        assert str(first) == "2 requests, 1 answers"
        assert await group_commit.submit(3) == 3

    asyncio.run(serving(group_commit, work))
    assert calls == [[1, 2], [3]]


def test_a_request_whose_caller_went_away_does_not_stop_the_others() -> None:
    writer = Writer(hold=True)
    group_commit = GroupCommit(writer, committers=1, max_batch=32)

    async def work() -> None:
        first = asyncio.create_task(group_commit.submit(1))
        await until_writing(writer)
        gone = asyncio.create_task(group_commit.submit(2))
        kept = asyncio.create_task(group_commit.submit(3))
        await asyncio.sleep(0)
        gone.cancel()
        writer.let_go.set()
        assert (await first, await kept) == (2, 6)
        assert gone.cancelled()

    asyncio.run(serving(group_commit, work))
    assert writer.batches == [[1], [2, 3]]


def test_requests_that_come_while_the_first_lingers_share_its_batch() -> None:
    writer = Writer()
    group_commit = GroupCommit(writer, committers=1, max_batch=32, linger_s=1.0)

    async def work() -> None:
        first = asyncio.create_task(group_commit.submit(1))
        while not group_commit.waiting.empty():  # until the committer holds it, and lingers
            await asyncio.sleep(0)
        later = [asyncio.create_task(group_commit.submit(n)) for n in (2, 3)]
        assert await asyncio.gather(first, *later) == [2, 4, 6]

    asyncio.run(serving(group_commit, work))
    assert writer.batches == [[1, 2, 3]]


def test_a_full_batch_waiting_is_written_without_lingering() -> None:
    writer = Writer()
    group_commit = GroupCommit(writer, committers=1, max_batch=3, linger_s=600.0)

    async def work() -> None:
        requests = [asyncio.create_task(group_commit.submit(n)) for n in (1, 2, 3)]
        await asyncio.sleep(0)  # all three wait before the committer starts
        committing = asyncio.create_task(group_commit.run())
        try:
            assert await asyncio.wait_for(asyncio.gather(*requests), 10) == [2, 4, 6]
        finally:
            committing.cancel()

    asyncio.run(work())
    assert writer.batches == [[1, 2, 3]]
