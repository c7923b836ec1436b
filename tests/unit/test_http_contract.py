"""The HTTP APIs' contract: a clear 4xx naming the field for bad input, 413 for a huge body."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from post_service.bootstrap import Bootstrapped as PostDeps
from post_service.entrypoints.app import create_app as create_post_app
from subscribe_service.adapters.notifier import LoggingNotifier
from subscribe_service.bootstrap import Bootstrapped as SubscribeDeps
from subscribe_service.entrypoints.api import create_app as create_subscribe_app
from subscribe_service.settings import Settings as SubscribeSettings
from tests.unit.fakes import FakePostUnitOfWork, FakeSubscribeUnitOfWork, PostStore, SubscribeStore

# Never connected to: the fakes stand in for the database in these tests.
UNUSED_ENGINE = create_engine("mysql+pymysql://nobody@127.0.0.1:1/none")


@pytest.fixture
def posts() -> Iterator[TestClient]:
    store = PostStore()
    deps = PostDeps(UNUSED_ENGINE, lambda: FakePostUnitOfWork(store))
    with TestClient(create_post_app(deps)) as client:
        yield client


@pytest.fixture
def subscriptions(monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("SUBSCRIBE_SERVICE_DB_PASSWORD", "unused")
    store = SubscribeStore()
    deps = SubscribeDeps(
        SubscribeSettings(),
        UNUSED_ENGINE,
        lambda: FakeSubscribeUnitOfWork(store),
        LoggingNotifier(),
    )
    with TestClient(create_subscribe_app(deps)) as client:
        yield client


def test_a_valid_post_is_created_with_its_event(posts: TestClient) -> None:
    response = posts.post("/posts", json={"author_id": 1, "title": "안녕 🦖", "content": "c"})
    assert response.status_code == 201
    body = response.json()
    assert list(body) == ["post_id", "event_id", "author_id", "title", "created_at"]
    assert (body["author_id"], body["title"]) == (1, "안녕 🦖")
    assert posts.get(f"/posts/{body['post_id']}").json()["content"] == "c"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"author_id": 0, "title": "t", "content": ""}, "author_id"),
        ({"author_id": 2**63, "title": "t", "content": ""}, "author_id"),
        ({"author_id": "one", "title": "t", "content": ""}, "author_id"),
        ({"author_id": 1, "title": "", "content": ""}, "title"),
        ({"author_id": 1, "title": "x" * 201, "content": ""}, "title"),
        ({"author_id": 1, "title": "t", "content": "x" * 10_001}, "content"),
        ({"author_id": 1, "content": ""}, "title"),
        ({"author_id": 1, "title": "t", "content": "", "extra": 1}, "extra"),
    ],
)
def test_a_bad_post_gets_422_naming_the_field(
    posts: TestClient, body: dict[str, object], field: str
) -> None:
    response = posts.post("/posts", json=body)
    assert response.status_code == 422
    assert field in {str(part) for error in response.json()["detail"] for part in error["loc"]}


def test_a_body_that_is_not_json_gets_422(posts: TestClient) -> None:
    response = posts.post(
        "/posts", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "json_invalid"


def test_a_body_over_the_limit_gets_413(posts: TestClient) -> None:
    response = posts.post("/posts", content=b"x" * (128 * 1024 + 1))
    assert response.status_code == 413
    assert "over" in response.json()["detail"]


def test_a_chunked_body_over_the_limit_gets_413_too(posts: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(200):
            yield b"x" * 1024

    response = posts.post("/posts", content=chunks())
    assert response.status_code == 413


def test_an_unknown_post_is_404_and_a_bad_id_422(posts: TestClient) -> None:
    assert posts.get("/posts/999").status_code == 404
    assert posts.get("/posts/0").status_code == 422


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("subscriber_id=0", "subscriber_id"),
        ("subscriber_id=1&limit=1001", "limit"),
        ("", "subscriber_id"),
    ],
)
def test_bad_notification_queries_get_422_naming_the_field(
    subscriptions: TestClient, query: str, field: str
) -> None:
    response = subscriptions.get(f"/notifications?{query}")
    assert response.status_code == 422
    assert field in {str(part) for error in response.json()["detail"] for part in error["loc"]}


def test_subscribing_twice_and_unsubscribing_twice_are_harmless(subscriptions: TestClient) -> None:
    body = {"subscriber_id": 5, "author_id": 6}
    assert [subscriptions.post("/subscriptions", json=body).status_code for _ in "ab"] == [201, 201]
    assert [subscriptions.delete("/subscriptions/5/6").status_code for _ in "ab"] == [204, 204]
