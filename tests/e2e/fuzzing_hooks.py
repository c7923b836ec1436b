"""Schemathesis hooks for tests/e2e/test_fuzzing.py (loaded through SCHEMATHESIS_HOOKS).

An Idempotency-Key binds its first request: the same key with another body is answered 422, as
the IETF draft asks. A fuzzer draws keys from a small space ("0", "00", ...) and would reuse one
with other bodies, then take the draft's 422 for a valid request refused. A valid key is made
unique per request here, still valid; an invalid one is left as generated.

A webhook endpoint's url that the schema admits is refused (422) when its host is an address that
may not receive webhooks (127.0.0.1, 0, 10.1.2.3: what the schema cannot state; the rule's own
tests are tests/unit/test_webhook_rules.py and test_webhooks_api.py). A fuzzer draws hosts from a
small space and finds such addresses at once: such a url is replaced by one with a public name."""

from __future__ import annotations

import re
import uuid
from typing import Any

import schemathesis

from post_service.domain.idempotency import KEY_MAX_CHARS, KEY_PATTERN
from subscribe_service.domain.webhooks import check_address, check_url

HEADER = "Idempotency-Key"
SUFFIX_CHARS = 32
VALID = re.compile(KEY_PATTERN)
PUBLIC_URL = "https://hooks.example.com/fuzzed"


@schemathesis.hook
def before_call(ctx: Any, case: Any, **kwargs: Any) -> None:
    unique_key(case)
    public_url(case)


def public_url(case: Any) -> None:
    url = case.body.get("url") if isinstance(case.body, dict) else None
    if not isinstance(url, str):
        return
    try:
        check_url(url)  # the schema's form: what is not stays as generated, to be refused
    except ValueError:
        return
    try:
        check_address(url, [])
    except ValueError:
        case.body["url"] = PUBLIC_URL


def unique_key(case: Any) -> None:
    key = (case.headers or {}).get(HEADER)
    if not isinstance(key, str) or not VALID.match(key):
        return
    unique = uuid.uuid4().hex
    if key.startswith('"'):
        case.headers[HEADER] = f'"{key[1:-1][: KEY_MAX_CHARS - SUFFIX_CHARS]}{unique}"'
    else:
        case.headers[HEADER] = key[: KEY_MAX_CHARS - SUFFIX_CHARS] + unique
