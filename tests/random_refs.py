"""Random ids, so tests never share rows and never need to truncate tables."""

from __future__ import annotations

import random

# Far above the ids a person types by hand, and below BIGINT's limit.
_LOW, _HIGH = 10**12, 10**15
# Above every id random_id gives, the load test's (loadtest/run.py, up to 2 * 10**15), and every
# id a table hands out in a test run: the ids of events that tests write straight to the topic
# with arbitrary ids, so that those touch no post and no author of another test. (A fuzzed event
# for post 2233, version 66113, once made the load test's post 2233, created later, look applied
# out of order.)
FOREIGN_IDS_FROM = 10**16
# The system's randomness, not the random module's: hypothesis seeds that one the same for each
# example of a test, and every run of the test would take the same ids as the last run.
_RANDOM = random.SystemRandom()


def random_id() -> int:
    return _RANDOM.randint(_LOW, _HIGH)


def random_title(prefix: str = "post") -> str:
    return f"{prefix} {_RANDOM.randint(0, 10**9)}"
