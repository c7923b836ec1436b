"""exit_if_stuck ends a process stuck in a call that has no timeout, and only such a process."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

from tests.running_stack import REPO

# A lock acquired twice blocks in C, with the GIL released, as librdkafka's commit does.
STUCK = """
import threading
from chassis.watchdog import exit_if_stuck

lock = threading.Lock()
lock.acquire()
with exit_if_stuck({limit}):
    {inside}
{after}
print("finished")
"""


def run(limit: float, inside: str, after: str = "pass") -> subprocess.CompletedProcess[str]:
    script = textwrap.dedent(STUCK).format(limit=limit, inside=inside, after=after)
    return subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=60
    )


def test_a_call_stuck_past_the_limit_ends_the_process_with_every_stack() -> None:
    started = time.monotonic()
    done = run(0.5, inside="lock.acquire()  # never released")
    assert done.returncode == 1
    assert time.monotonic() - started < 30
    assert "Timeout (0:00:00.500000)!" in done.stderr
    assert 'File "<string>", line 8' in done.stderr  # where it was stuck
    assert "finished" not in done.stdout


def test_a_call_that_returns_in_time_disarms_the_bound() -> None:
    done = run(0.5, inside="pass", after="lock.acquire(timeout=2)")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "finished\n"
    assert "Timeout" not in done.stderr
