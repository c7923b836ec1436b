"""The connector-restarter's rules: which tasks it restarts, and how it backs off."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from connect.restarter import Backoff, failed_tasks


def status(*states: str) -> dict[str, Any]:
    return {
        "connector": {"state": "RUNNING"},
        "tasks": [
            {
                "id": i,
                "state": s,
                "trace": f"java.sql.SQLException: {i}\n\tat x" if s == "FAILED" else "",
            }
            for i, s in enumerate(states)
        ],
    }


def test_only_failed_tasks_are_reported_with_their_first_line() -> None:
    assert failed_tasks(status("RUNNING", "FAILED", "PAUSED")) == ["java.sql.SQLException: 1"]
    assert failed_tasks(status("RUNNING", "UNASSIGNED")) == []
    assert failed_tasks({"tasks": [{"state": "FAILED"}]}) == ["no trace"]


def test_restarts_back_off_from_the_first_delay_doubling_to_the_cap() -> None:
    backoff = Backoff(first_s=5, max_s=300)
    now, delays = 0.0, []
    for _ in range(8):
        assert backoff.due(now)
        backoff.restarted(now)
        delays.append(backoff.delay_s)
        assert not backoff.due(now + backoff.delay_s - 0.01)
        now += backoff.delay_s
    assert delays == [5, 10, 20, 40, 80, 160, 300, 300]


@given(st.integers(min_value=1, max_value=50))
def test_a_task_seen_running_starts_over_from_the_first_delay(failures: int) -> None:
    backoff = Backoff(first_s=5, max_s=300)
    for _ in range(failures):
        backoff.restarted(0)
    backoff.running()
    assert backoff.due(0)
    backoff.restarted(0)
    assert backoff.delay_s == 5
