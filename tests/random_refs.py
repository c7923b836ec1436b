"""Random ids, so tests never share rows and never need to truncate tables."""

from __future__ import annotations

import random

# Far above the ids a person types by hand, and below BIGINT's limit.
_LOW, _HIGH = 10**12, 10**15


def random_id() -> int:
    return random.randint(_LOW, _HIGH)


def random_title(prefix: str = "post") -> str:
    return f"{prefix} {random.randint(0, 10**9)}"
