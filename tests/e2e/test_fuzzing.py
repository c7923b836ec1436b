"""Schema-based fuzzing of both running APIs (schemathesis): whatever is sent, no 5xx, and every
answer matches the OpenAPI schema. Generated bodies include any Unicode, 4-byte and NUL alike."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import settings as hypothesis_settings
from schemathesis import BaseSchema, Case
from schemathesis.checks import not_a_server_error

from tests.running_stack import POST_URL, SUBSCRIBE_URL


@pytest.fixture(scope="module")
def post_api() -> BaseSchema:
    return schemathesis.openapi.from_url(f"{POST_URL}/openapi.json")


@pytest.fixture(scope="module")
def subscribe_api() -> BaseSchema:
    return schemathesis.openapi.from_url(f"{SUBSCRIBE_URL}/openapi.json")


post_schema = schemathesis.pytest.from_fixture("post_api")
subscribe_schema = schemathesis.pytest.from_fixture("subscribe_api")


@post_schema.parametrize()
@hypothesis_settings(max_examples=60, deadline=None)
def test_the_post_api_never_answers_5xx(case: Case) -> None:
    case.call_and_validate(checks=[not_a_server_error])


@subscribe_schema.parametrize()
@hypothesis_settings(max_examples=60, deadline=None)
def test_the_subscribe_api_never_answers_5xx(case: Case) -> None:
    case.call_and_validate(checks=[not_a_server_error])
