"""Schema-based fuzzing of both running APIs (schemathesis): whatever is sent, no 5xx, and every
answer matches the OpenAPI schema. Generated bodies include any Unicode, 4-byte and NUL alike."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import Case
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.running_stack import POST_URL, SUBSCRIBE_URL

EXAMPLES_PER_OPERATION = 50


@pytest.mark.parametrize("api", [POST_URL, SUBSCRIBE_URL])
def test_no_request_makes_the_api_answer_5xx(api: str) -> None:
    schema = schemathesis.openapi.from_url(f"{api}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert operations
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def answers_without_a_server_error(case: Case) -> None:
            case.call_and_validate(
                base_url=api, checks=[not_a_server_error, response_schema_conformance]
            )

        answers_without_a_server_error()
