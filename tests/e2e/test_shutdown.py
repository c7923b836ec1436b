"""On SIGTERM each process finishes what it holds and exits within seconds (supervisord would
SIGKILL it after 15 s): the consumer its batch and offsets, the APIs their requests."""

from __future__ import annotations

import time

import pytest

from tests.running_stack import make

WITHIN_S = 8.0  # the stop itself, plus Make's and supervisorctl's own start-up


@pytest.mark.parametrize("part", ["subscribe-consumer", "subscribe-api", "post-service"])
def test_a_stopped_process_exits_within_seconds(part: str) -> None:
    started = time.monotonic()
    make(f"stop-{part}")
    stopping_took = time.monotonic() - started
    make(f"start-{part}")
    assert stopping_took < WITHIN_S
