"""The HTTP APIs' contract: a clear 4xx naming the field for bad input, 413 for a huge body, 503
when the database is away, never a 500; and an OpenAPI document that states all of it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pymysql
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine
from sqlalchemy.exc import OperationalError

from contract.events import ID_MAX, TITLE_MAX_CHARS
from post_service.bootstrap import Bootstrapped as PostDeps
from post_service.domain.posts import CONTENT_MAX_CHARS
from post_service.entrypoints.app import create_app as create_post_app
from subscribe_service.adapters.notifier import LoggingNotifier
from subscribe_service.bootstrap import Bootstrapped as SubscribeDeps
from subscribe_service.entrypoints.api import create_app as create_subscribe_app
from subscribe_service.settings import Settings as SubscribeSettings
from tests.unit.fakes import FakePostUnitOfWork, FakeSubscribeUnitOfWork, PostStore, SubscribeStore

# Nothing listens there: the fakes stand in for the database, and /readyz finds none.
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
    assert list(body) == ["post_id", "event_id", "author_id", "title", "created_at", "version"]
    assert body["version"] == 1
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


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"author_id": 1}, "body"),  # neither a title nor a content: nothing to change
        ({"author_id": 1, "title": None}, "title"),
        ({"author_id": 1, "content": None, "title": "t"}, "content"),
        ({"author_id": 1, "title": ""}, "title"),
        ({"title": "t"}, "author_id"),
        ({"author_id": 1, "title": "t", "version": 9}, "version"),
    ],
)
def test_a_bad_edit_gets_422_naming_the_field(
    posts: TestClient, body: dict[str, object], field: str
) -> None:
    created = posts.post("/posts", json={"author_id": 1, "title": "t", "content": ""}).json()
    response = posts.patch(f"/posts/{created['post_id']}", json=body)
    assert response.status_code == 422
    assert field in {str(part) for error in response.json()["detail"] for part in error["loc"]}


def test_a_change_by_another_author_gets_403_and_of_no_post_404(posts: TestClient) -> None:
    created = posts.post("/posts", json={"author_id": 1, "title": "t", "content": ""}).json()
    mine = f"/posts/{created['post_id']}"

    assert posts.patch(mine, json={"author_id": 2, "title": "x"}).status_code == 403
    assert posts.delete(mine, params={"author_id": 2}).status_code == 403
    assert posts.patch("/posts/999999", json={"author_id": 1, "title": "x"}).status_code == 404
    assert posts.delete("/posts/999999", params={"author_id": 1}).status_code == 404
    assert posts.patch(mine, json={"author_id": 1, "title": "x"}).json()["version"] == 2
    assert posts.delete(mine, params={"author_id": 1}).status_code == 204


def test_a_method_no_route_of_a_path_has_gets_405_naming_every_method_it_has(
    posts: TestClient,
) -> None:
    response = posts.put("/posts/1", json={})
    assert response.status_code == 405
    assert response.headers["allow"] == "DELETE, GET, PATCH"


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


def test_a_post_whose_id_is_spelled_as_a_whole_float_is_found(posts: TestClient) -> None:
    created = posts.post("/posts", json={"author_id": 7.0, "title": "t", "content": ""})
    assert created.status_code == 201  # 7.0 is the integer 7 to JSON Schema
    assert posts.get(f"/posts/{created.json()['post_id']}.0").status_code == 200


@pytest.mark.parametrize("post_id", ["%201", "1%20", "1_0", "%091", "1e0", "0x1"])
def test_an_id_in_the_url_that_is_not_written_in_digits_gets_422(
    posts: TestClient, post_id: str
) -> None:
    posts.post("/posts", json={"author_id": 1, "title": "t", "content": ""})
    response = posts.get(f"/posts/{post_id}")  # pydantic alone read " 1" and "1_0" as numbers
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["path", "post_id"]


@pytest.mark.parametrize("author_id", ["7", True, " 7"])
def test_an_id_in_a_body_that_is_not_a_json_number_gets_422(
    posts: TestClient, subscriptions: TestClient, author_id: object
) -> None:
    post = {"author_id": author_id, "title": "t", "content": ""}
    subscription = {"subscriber_id": 1, "author_id": author_id}
    for response in (
        posts.post("/posts", json=post),
        subscriptions.post("/subscriptions", json=subscription),
    ):
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["body", "author_id"]


@pytest.mark.parametrize(
    ("body", "named"),
    [
        (b'{"author_id": 1, "title": "\xff", "content": ""}', "utf-8"),
        (b"[" * 5000, "recursion"),
        (b'{"author_id": 1' + b"0" * 5000 + b', "title": "t", "content": ""}', "digits"),
    ],
)
def test_a_body_that_is_not_json_text_gets_the_422_of_bad_json_naming_why(
    posts: TestClient, subscriptions: TestClient, body: bytes, named: str
) -> None:
    # FastAPI alone answered these 400 "There was an error parsing the body".
    json_body = {"content-type": "application/json"}
    for response in (
        posts.post("/posts", content=body, headers=json_body),
        subscriptions.post("/subscriptions", content=body, headers=json_body),
    ):
        assert response.status_code == 422
        [error] = response.json()["detail"]
        assert error["type"] == "json_invalid"
        assert named in error["ctx"]["error"].lower()


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'{"author_id": 1, "title": "\\ud800", "content": ""}', "application/json"),
        (b'{"author_id": 1, "title": "t", "content": "", "\\udfff": 1}', "application/json"),
        (b'{"author_id": 1, "title": "\xed\xa0\x80", "content": ""}', "application/json"),
        (b'{"author_id": NaN, "title": "t", "content": ""}', "application/json"),
        (b'{"author_id": -Infinity, "title": "t", "content": ""}', "application/json"),
        (b"\xff\xfe not json", "text/plain"),
        (b"\xff\xfe not json", ""),
    ],
)
def test_a_refused_input_that_json_cannot_carry_gets_422_not_500(
    posts: TestClient, body: bytes, content_type: str
) -> None:
    # FastAPI's own 422 failed to echo these back: a lone surrogate, NaN, bytes that are not UTF-8.
    headers = {"content-type": content_type} if content_type else {}
    response = posts.post("/posts", content=body, headers=headers)
    assert response.status_code == 422
    assert response.json()["detail"]


def unreachable_database() -> FakePostUnitOfWork:
    cause = pymysql.err.OperationalError(2003, "Can't connect to MySQL server")
    raise OperationalError("SELECT 1", None, cause)


def test_a_request_while_the_database_is_away_gets_503_saying_so() -> None:
    deps = PostDeps(UNUSED_ENGINE, unreachable_database)
    with TestClient(create_post_app(deps)) as posts:
        created = posts.post("/posts", json={"author_id": 1, "title": "t", "content": ""})
        ready = posts.get("/readyz")
    assert created.status_code == 503
    assert "nothing was stored" in created.json()["detail"]
    assert (ready.status_code, ready.json()) == (503, {"status": "database unavailable"})


def openapi(client: TestClient) -> dict[str, Any]:
    document: dict[str, Any] = client.get("/openapi.json").json()
    return document


def statuses(document: dict[str, Any], method: str, path: str) -> set[int]:
    return {int(status) for status in document["paths"][path][method]["responses"]}


def test_every_status_a_route_answers_is_in_the_openapi_document(
    posts: TestClient, subscriptions: TestClient
) -> None:
    post_api, subscribe_api = openapi(posts), openapi(subscriptions)
    assert statuses(post_api, "post", "/posts") == {201, 400, 409, 408, 410, 413, 422, 503}
    assert statuses(post_api, "get", "/posts/{post_id}") == {200, 404, 408, 413, 422, 503}
    one_post = "/posts/{post_id}"
    assert statuses(post_api, "patch", one_post) == {200, 400, 403, 404, 408, 413, 422, 503}
    assert statuses(post_api, "delete", one_post) == {204, 403, 404, 408, 413, 422, 503}
    assert statuses(subscribe_api, "post", "/subscriptions") == {201, 400, 408, 413, 422, 503}
    unsubscribe = "/subscriptions/{subscriber_id}/{author_id}"
    assert statuses(subscribe_api, "delete", unsubscribe) == {204, 408, 413, 422, 503}
    assert statuses(subscribe_api, "get", "/notifications") == {200, 408, 413, 422, 503}
    for document in (post_api, subscribe_api):
        assert statuses(document, "get", "/healthz") == {200, 408, 413}
        assert statuses(document, "get", "/readyz") == {200, 408, 413, 503}


def test_every_answer_in_the_openapi_document_has_its_body(posts: TestClient) -> None:
    document = openapi(posts)
    responses = document["paths"]["/posts/{post_id}"]["get"]["responses"]
    bodies = {
        status: response["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
        for status, response in responses.items()
    }
    assert bodies == {
        "200": "PostPublic",
        "404": "ErrorDetail",
        "408": "ErrorDetail",
        "413": "ErrorDetail",
        "422": "HTTPValidationError",
        "503": "ErrorDetail",
    }
    assert document["components"]["schemas"]["ErrorDetail"]["required"] == ["detail"]


def schemas_named(document: dict[str, Any], suffix: str) -> list[tuple[str, dict[str, Any]]]:
    """Every parameter and every model property of the document whose name ends in `suffix`."""
    found = [
        (f"{method} {path} {parameter['name']}", parameter["schema"])
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        for parameter in operation.get("parameters", [])
        if parameter["name"].endswith(suffix)
    ]
    found += [
        (f"{model}.{name}", schema)
        for model, definition in document["components"]["schemas"].items()
        for name, schema in definition.get("properties", {}).items()
        if name.endswith(suffix)
    ]
    return found


def test_every_id_in_the_openapi_document_states_its_exact_bounds(
    posts: TestClient, subscriptions: TestClient
) -> None:
    # FastAPI alone wrote a body's maximum as 9.223372036854776e18: 2**63 was schema-valid.
    ids = schemas_named(openapi(posts), "_id") + schemas_named(openapi(subscriptions), "_id")
    integer_ids = [(name, schema) for name, schema in ids if schema.get("type") == "integer"]
    assert {name for name, _ in integer_ids} >= {
        "get /posts/{post_id} post_id",
        "PostCreate.author_id",
        "SubscriptionCreate.subscriber_id",
        "get /notifications subscriber_id",
    }
    for name, schema in integer_ids:
        assert type(schema["maximum"]) is int, name
        assert schema["maximum"] == ID_MAX, name
        assert schema["exclusiveMinimum"] == 0, name


def test_every_title_and_content_in_the_openapi_document_states_its_length(
    posts: TestClient, subscriptions: TestClient
) -> None:
    documents = (openapi(posts), openapi(subscriptions))
    titles = [found for document in documents for found in schemas_named(document, "title")]
    contents = schemas_named(documents[0], "content")
    assert {name for name, _ in titles} >= {"PostCreate.title", "NotificationPublic.title"}
    assert {name for name, _ in titles} >= {"PostEdit.title"}
    for name, schema in titles:
        text = present(schema)
        assert (text["minLength"], text["maxLength"]) == (1, TITLE_MAX_CHARS), name
    for name, schema in contents:
        assert present(schema)["maxLength"] == CONTENT_MAX_CHARS, name


def present(schema: dict[str, Any]) -> dict[str, Any]:
    """An optional field's schema when it is there: the branch of its anyOf that is not null."""
    branches = schema.get("anyOf", [schema])
    return next(branch for branch in branches if branch.get("type") != "null")
