"""The consumer's stall check: behind and not moving for the limit is stalled; nothing else is."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from subscribe_service.adapters.progress import ProgressWatch

P0, P1 = ("events", 0), ("events", 1)


def test_a_partition_behind_whose_committed_offset_stands_for_the_limit_is_stalled() -> None:
    watch = ProgressWatch(limit_s=60)
    assert watch.stalled(0, {P0: (5, 9), P1: (3, 3)}) == []
    assert watch.stalled(59.9, {P0: (5, 9), P1: (3, 3)}) == []
    assert watch.stalled(60, {P0: (5, 9), P1: (3, 3)}) == [P0]


def test_moving_restarts_the_clock() -> None:
    watch = ProgressWatch(limit_s=60)
    watch.stalled(0, {P0: (5, 9)})
    assert watch.stalled(50, {P0: (6, 12)}) == []
    assert watch.stalled(100, {P0: (6, 12)}) == []
    assert watch.stalled(110, {P0: (6, 12)}) == [P0]


def test_catching_up_in_between_restarts_the_clock() -> None:
    watch = ProgressWatch(limit_s=60)
    watch.stalled(0, {P0: (5, 9)})
    watch.stalled(30, {P0: (9, 9)})  # caught up; then new events arrive
    assert watch.stalled(70, {P0: (9, 11)}) == []
    assert watch.stalled(130, {P0: (9, 11)}) == [P0]


def test_a_check_that_could_not_measure_does_not_count_against_the_consumer() -> None:
    watch = ProgressWatch(limit_s=60)
    watch.stalled(0, {P0: (5, 9)})
    watch.forget()  # Kafka away
    assert watch.stalled(90, {P0: (5, 9)}) == []
    assert watch.stalled(150, {P0: (5, 9)}) == [P0]


@given(
    st.lists(st.tuples(st.floats(0, 1000), st.integers(0, 100), st.integers(0, 100)), max_size=30)
)
def test_a_partition_caught_up_is_never_stalled(checks: list[tuple[float, int, int]]) -> None:
    watch = ProgressWatch(limit_s=60)
    for now, committed, end in sorted(checks):
        stalled = watch.stalled(now, {P0: (committed, end)})
        if committed >= end:
            assert stalled == []
