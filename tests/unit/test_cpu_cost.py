"""The CPU cost by part (loadtest/cpu.py): read from /proc, charged to the part that spent it,
beyond what it spends idle."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from loadtest.cpu import LOAD_GENERATOR, PartCost, cost_per_post, table, ticks


def burn(seconds: float) -> None:
    deadline = time.process_time() + seconds
    while time.process_time() < deadline:
        pass


def test_a_process_gone_counts_nothing_and_a_running_one_its_own_time() -> None:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    assert ticks([process.pid]) == 0
    before = ticks([os.getpid()])
    burn(0.3)
    assert ticks([os.getpid()]) - before >= 0.2 * os.sysconf("SC_CLK_TCK")


def test_the_cpu_a_part_spends_under_load_is_charged_to_it_per_post() -> None:
    # The "load" burns CPU in this process (as the load generator does) while another part only
    # sleeps: at 100 posts/s, one core busy for the whole 1 s window is 10 ms per post.
    busy = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        costs = cost_per_post(
            lambda: {"sleeper": [busy.pid]},
            lambda: burn(1.6),
            rate=100,
            window_s=1.0,
            warm_up_s=0.2,
        )
    finally:
        busy.kill()
    assert costs["sleeper"].ms_per_post < 1.0
    # At most one core's worth (and a tick); at least a fair share of it on a busy machine.
    assert 2.0 < costs[LOAD_GENERATOR].ms_per_post < 11.0


def test_a_window_is_charged_for_as_long_as_it_lasted_not_as_long_as_was_asked() -> None:
    def overrunning(seconds: float) -> None:
        """A sleep on a busy machine overruns what it was asked for: here by half as long again."""
        time.sleep(seconds * 1.5)

    costs = cost_per_post(
        lambda: {}, lambda: burn(2.2), rate=100, window_s=1.0, warm_up_s=0.2, sleep=overrunning
    )

    # One core busy the whole window is 10 ms per post at 100 posts/s however long the window
    # lasted; taken for the 1 s asked, the 1.5 s it lasted would read 15.
    assert 2.0 < costs[LOAD_GENERATOR].ms_per_post < 11.0


def test_a_load_that_fails_fails_the_measure_instead_of_measuring_nothing() -> None:
    def load() -> None:
        raise ConnectionRefusedError("the post service is down")

    with pytest.raises(ConnectionRefusedError, match="is down"):
        cost_per_post(lambda: {}, load, rate=100, window_s=0.05, warm_up_s=0.01)


def test_the_table_lists_the_costliest_part_first_and_the_sum() -> None:
    lines = table({"cheap": PartCost(1.0, 0.25), "dear": PartCost(2.0, 1.5)})
    assert lines[2].startswith("| dear |")
    assert lines[3].startswith("| cheap |")
    assert lines[-1] == "| **all** | 3.0 | **1.75** |"
