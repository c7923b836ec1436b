"""The post API's edges: a retry with an Idempotency-Key never makes a second post, an answer
never claims more than is known, and more requests than it can take are refused at once."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Iterator

import httpx
import pymysql
import pytest
from anyio.to_thread import current_default_thread_limiter
from fastapi.testclient import TestClient
from sqlalchemy import create_engine
from sqlalchemy.exc import OperationalError
from starlette.types import Receive, Scope, Send

import chassis.database
from chassis import body_limit
from chassis.overload import InFlightLimit
from chassis.unit_of_work import OutcomeUnknown
from post_service.bootstrap import Bootstrapped
from post_service.domain.posts import NewPost
from post_service.entrypoints.app import create_app
from post_service.service.posts import create_post
from tests.unit.fakes import FakePostUnitOfWork, PostStore

UNUSED_ENGINE = create_engine("mysql+pymysql://nobody@127.0.0.1:1/none")
BODY = {"author_id": 7, "title": "once", "content": "only once"}


@pytest.fixture
def store() -> PostStore:
    return PostStore()


@pytest.fixture
def posts(store: PostStore) -> Iterator[TestClient]:
    deps = Bootstrapped(UNUSED_ENGINE, lambda: FakePostUnitOfWork(store))
    with TestClient(create_app(deps)) as client:
        yield client


def test_a_retry_with_the_same_key_answers_the_same_201(
    posts: TestClient, store: PostStore
) -> None:
    first = posts.post("/posts", json=BODY, headers={"Idempotency-Key": "a-key"})
    again = posts.post("/posts", json=BODY, headers={"Idempotency-Key": '"a-key"'})
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert len(store.posts) == 1


def test_the_same_key_with_another_body_gets_422_naming_the_header(posts: TestClient) -> None:
    posts.post("/posts", json=BODY, headers={"Idempotency-Key": "k"})
    other = posts.post("/posts", json={**BODY, "title": "other"}, headers={"Idempotency-Key": "k"})
    assert other.status_code == 422
    assert other.json()["detail"][0]["loc"] == ["header", "Idempotency-Key"]


@pytest.mark.parametrize("key", ["", "with space", '"k "', "x" * 256, "é".encode(), 'a"b', "a\\b"])
def test_a_malformed_key_gets_422_naming_the_header(posts: TestClient, key: str | bytes) -> None:
    answer = posts.post("/posts", json=BODY, headers={"Idempotency-Key": key})
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["header", "Idempotency-Key"]


def test_without_a_key_each_post_is_a_new_post(posts: TestClient, store: PostStore) -> None:
    posts.post("/posts", json=BODY)
    posts.post("/posts", json=BODY)
    assert len(store.posts) == 2


class CommitLost(FakePostUnitOfWork):
    def commit(self) -> None:
        raise OutcomeUnknown("Lost connection to server during query")


class ServerGone(FakePostUnitOfWork):
    def __enter__(self) -> ServerGone:
        raise OperationalError("INSERT", None, Exception("Can't connect to server"))


class ServerRefusing(FakePostUnitOfWork):
    def __enter__(self) -> ServerRefusing:
        refused = pymysql.err.OperationalError(2003, "Can't connect to MySQL server")
        raise OperationalError("INSERT", None, refused)


def test_a_commit_whose_answer_was_lost_gets_503_saying_the_outcome_is_unknown() -> None:
    deps = Bootstrapped(UNUSED_ENGINE, lambda: CommitLost(PostStore()))
    with TestClient(create_app(deps)) as client:
        answer = client.post("/posts", json=BODY)
    assert answer.status_code == 503
    assert "may or may not have been stored" in answer.json()["detail"]
    assert "nothing was stored" not in answer.json()["detail"]


def test_a_database_away_before_the_commit_gets_503_saying_nothing_was_stored() -> None:
    deps = Bootstrapped(UNUSED_ENGINE, lambda: ServerGone(PostStore()))
    with TestClient(create_app(deps)) as client:
        answer = client.post("/posts", json=BODY)
    assert answer.status_code == 503
    assert "nothing was stored" in answer.json()["detail"]


def test_a_request_its_batch_did_not_try_gets_503_saying_nothing_was_stored() -> None:
    store = PostStore()
    create_post(lambda: FakePostUnitOfWork(store), NewPost(7, "once", "only once"), key="stored")
    transactions = itertools.count()

    def unit_of_work() -> FakePostUnitOfWork:
        # The batch (refused: one key is stored), the first request alone, the second fails.
        number = next(transactions)
        return ServerRefusing(store) if number == 2 else FakePostUnitOfWork(store)

    app = create_app(Bootstrapped(UNUSED_ENGINE, unit_of_work, create_linger_ms=500))

    async def together() -> list[httpx.Response]:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                keys = ["stored", "new-1", "new-2"]  # one batch: they come within the linger
                return await asyncio.gather(
                    *(
                        client.post("/posts", json=BODY, headers={"Idempotency-Key": k})
                        for k in keys
                    )
                )

    answers = asyncio.run(together())

    assert sorted(answer.status_code for answer in answers) == [201, 503, 503]
    refused = [answer for answer in answers if answer.status_code == 503]
    assert all("nothing was stored" in answer.json()["detail"] for answer in refused)
    assert any(answer.headers.get("retry-after") == "1" for answer in refused)
    assert next(transactions) == 3  # the batch and two alone: the third was never tried
    assert len(store.posts) == (1 if answers[0].status_code == 201 else 2)


def test_requests_beyond_the_limit_in_progress_get_503_at_once_with_retry_after() -> None:
    release = asyncio.Event()

    async def slow(scope: Scope, receive: Receive, send: Send) -> None:
        await release.wait()
        await send({"type": "http.response.start", "status": 201, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    limited = InFlightLimit(slow, max_in_flight=2, guards=["/posts"])

    async def burst() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=limited)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            waiting = [asyncio.create_task(client.post("/posts")) for _ in range(2)]
            await asyncio.sleep(0.05)
            refused = await client.post("/posts")
            health = asyncio.create_task(client.get("/readyz"))
            release.set()
            return [refused, *await asyncio.gather(*waiting), await health]

    refused, first, second, health = asyncio.run(burst())
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "1"
    assert (first.status_code, second.status_code, health.status_code) == (201, 201, 201)


def test_the_routes_have_a_thread_per_database_connection() -> None:
    engine = chassis.database.create_engine(UNUSED_ENGINE.url, pool_size=3)
    with TestClient(
        create_app(Bootstrapped(engine, lambda: FakePostUnitOfWork(PostStore())))
    ) as client:
        assert client.portal is not None  # set while the client is open
        threads = client.portal.call(lambda: current_default_thread_limiter().total_tokens)
    assert threads == 3


def test_a_body_that_does_not_arrive_gets_408_and_frees_its_place(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(body_limit, "BODY_TIMEOUT_S", 0.2)
    app = create_app(Bootstrapped(UNUSED_ENGINE, lambda: FakePostUnitOfWork(PostStore())))

    async def trickle() -> httpx.Response:
        async def a_byte_then_nothing() -> AsyncIterator[bytes]:
            yield b'{"author_id": 7, '
            await asyncio.sleep(5)
            yield b"}"

        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.post("/posts", content=a_byte_then_nothing())

    answer = asyncio.run(asyncio.wait_for(trickle(), 3))
    assert answer.status_code == 408
