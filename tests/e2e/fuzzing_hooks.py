"""Schemathesis hooks for tests/e2e/test_fuzzing.py (loaded through SCHEMATHESIS_HOOKS).

An Idempotency-Key binds its first request: the same key with another body is answered 422, as
the IETF draft asks. A fuzzer draws keys from a small space ("0", "00", ...) and would reuse one
with other bodies, then take the draft's 422 for a valid request refused. A valid key is made
unique per request here, still valid; an invalid one is left as generated."""

from __future__ import annotations

import re
import uuid
from typing import Any

import schemathesis

from post_service.domain.idempotency import KEY_MAX_CHARS, KEY_PATTERN

HEADER = "Idempotency-Key"
SUFFIX_CHARS = 32
VALID = re.compile(KEY_PATTERN)


@schemathesis.hook
def before_call(ctx: Any, case: Any, **kwargs: Any) -> None:
    key = (case.headers or {}).get(HEADER)
    if not isinstance(key, str) or not VALID.match(key):
        return
    unique = uuid.uuid4().hex
    if key.startswith('"'):
        case.headers[HEADER] = f'"{key[1:-1][: KEY_MAX_CHARS - SUFFIX_CHARS]}{unique}"'
    else:
        case.headers[HEADER] = key[: KEY_MAX_CHARS - SUFFIX_CHARS] + unique
