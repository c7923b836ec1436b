"""The benchmarks' drain rows: a path that did not drain says so, instead of a NaN."""

from __future__ import annotations

from loadtest.benchmarks import drain_row


def test_a_drained_path_gives_its_time_rate_and_ratio_to_the_baseline() -> None:
    assert drain_row("sink", 4000, 20.0, 10.0) == "| sink | 20.0 | 200 | 0.50 |"


def test_a_path_that_did_not_drain_says_so() -> None:
    assert drain_row("sink", 4000, None, 10.0) == "| sink | not within the wait | - | - |"


def test_without_a_baseline_the_ratio_is_unknown() -> None:
    assert drain_row("sink", 4000, 20.0, None) == "| sink | 20.0 | 200 | - |"
