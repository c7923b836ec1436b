"""The webhook routes of the subscribe API: a clear 4xx naming the field for any bad input, never
a 5xx, and a secret shown once, in the answer to the PUT that generated it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine

from subscribe_service.adapters.notifier import LoggingNotifier
from subscribe_service.bootstrap import Bootstrapped
from subscribe_service.domain.webhooks import check_secret
from subscribe_service.entrypoints.api import create_app
from subscribe_service.settings import Settings
from tests.unit.fakes import FakeSubscribeUnitOfWork, SubscribeStore

UNUSED_ENGINE = create_engine("mysql+pymysql://nobody@127.0.0.1:1/none")
SECRET = "whsec_" + "A" * 32  # 24 bytes
URL = "https://example.com/hooks"


@pytest.fixture
def api() -> Iterator[TestClient]:
    store = SubscribeStore()
    deps = Bootstrapped(
        Settings(service_db_password="unused"),
        UNUSED_ENGINE,
        lambda: FakeSubscribeUnitOfWork(store),
        LoggingNotifier(),
    )
    with TestClient(create_app(deps), raise_server_exceptions=False) as client:
        yield client


def fields_named(response: Any) -> set[str]:
    return {str(part) for error in response.json()["detail"] for part in error["loc"]}


def test_a_generated_secret_is_answered_once_and_never_shown_again(api: TestClient) -> None:
    registered = api.put("/subscribers/7/endpoint", json={"url": URL})
    assert registered.status_code == 200
    secret = registered.json()["secret"]
    assert check_secret(secret) == secret

    shown = api.get("/subscribers/7/endpoint")
    assert shown.json() == {"subscriber_id": 7, "url": URL}
    assert secret not in shown.text


def test_a_given_secret_is_kept_and_not_answered(api: TestClient) -> None:
    registered = api.put("/subscribers/7/endpoint", json={"url": URL, "secret": SECRET})
    assert registered.json() == {"subscriber_id": 7, "url": URL}


def test_an_endpoint_can_be_replaced_and_removed(api: TestClient) -> None:
    api.put("/subscribers/7/endpoint", json={"url": URL})
    api.put("/subscribers/7/endpoint", json={"url": URL + "/v2", "secret": SECRET})
    assert api.get("/subscribers/7/endpoint").json()["url"] == URL + "/v2"
    assert api.delete("/subscribers/7/endpoint").status_code == 204
    assert api.get("/subscribers/7/endpoint").status_code == 404
    assert api.delete("/subscribers/7/endpoint").status_code == 204


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://example.com/"}, "url"),
        ({"url": "http:///nohost"}, "url"),
        ({"url": "https://u:p@example.com/"}, "url"),
        ({"url": "https://example.com/" + "a" * 3000}, "url"),
        ({"url": 5}, "url"),
        ({}, "url"),
        ({"url": URL, "secret": "whsec_short"}, "secret"),
        ({"url": URL, "secret": "nope_" + "A" * 32}, "secret"),
        ({"url": URL, "secret": 12}, "secret"),
        ({"url": URL, "extra": 1}, "extra"),
    ],
)
def test_a_bad_endpoint_gets_422_naming_the_field(
    api: TestClient, body: dict[str, object], field: str
) -> None:
    response = api.put("/subscribers/7/endpoint", json=body)
    assert response.status_code == 422
    assert field in fields_named(response)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8083/connectors", "http://169.254.169.254/latest", "http://10.1.2.3/"]
)
def test_an_endpoint_at_an_address_that_may_not_receive_webhooks_gets_422_on_url(
    api: TestClient, url: str
) -> None:
    refused = api.put("/subscribers/7/endpoint", json={"url": url})
    assert refused.status_code == 422
    assert fields_named(refused) == {"body", "url"}
    assert "SUBSCRIBE_WEBHOOK_ALLOWED_NETWORKS" in refused.text
    assert api.get("/subscribers/7/endpoint").status_code == 404


def test_a_refused_secret_is_not_repeated_in_the_answer(api: TestClient) -> None:
    almost = "whsec_" + "Zm9vYmFy" * 2  # base64, but 12 bytes
    response = api.put("/subscribers/7/endpoint", json={"url": URL, "secret": almost})
    assert response.status_code == 422
    assert "secret" in fields_named(response)
    assert "Zm9vYmFy" not in response.text


@pytest.mark.parametrize(
    "path",
    [
        "/subscribers/0/endpoint",
        "/subscribers/9223372036854775808/endpoint",
        "/subscribers/x/endpoint",
        "/subscribers/-1/deliveries",
        "/subscribers/1/deliveries?limit=0",
        "/subscribers/1/deliveries?limit=1001",
        "/subscribers/1/deliveries?status=lost",
    ],
)
def test_an_id_or_query_out_of_range_gets_422(api: TestClient, path: str) -> None:
    assert api.get(path).status_code == 422


def test_deliveries_of_a_subscriber_without_any_are_an_empty_list(api: TestClient) -> None:
    response = api.get("/subscribers/7/deliveries", params={"status": "dead"})
    assert (response.status_code, response.json()) == (200, [])


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(), children),
    max_leaves=8,
)


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    subscriber=st.integers() | st.text(min_size=1),
    body=st.fixed_dictionaries(
        {}, optional={"url": json_values | st.text(), "secret": json_values | st.text()}
    ),
)
def test_no_endpoint_body_makes_a_5xx(api: TestClient, subscriber: object, body: object) -> None:
    response = api.put(f"/subscribers/{quote(str(subscriber), safe='')}/endpoint", json=body)
    assert response.status_code < 500, response.text
    if response.status_code == 200:
        assert "secret" not in response.json() or "secret" not in body  # type: ignore[operator]
