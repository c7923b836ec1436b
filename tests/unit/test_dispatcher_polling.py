"""How soon the dispatcher claims again once it took all that was due."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from subscribe_service.entrypoints.dispatcher import Polling


def test_after_a_claim_with_deliveries_the_next_comes_soon() -> None:
    polling = Polling(busy_s=0.01, idle_s=0.1)
    assert polling.after(3) == 0.01


def test_each_empty_claim_doubles_the_wait_up_to_the_idle_interval() -> None:
    polling = Polling(busy_s=0.01, idle_s=0.1)
    polling.after(1)
    assert [polling.after(0) for _ in range(5)] == [0.02, 0.04, 0.08, 0.1, 0.1]


def test_an_idle_dispatcher_starts_at_the_idle_interval() -> None:
    assert Polling(busy_s=0.01, idle_s=0.1).after(0) == 0.1


@given(st.lists(st.integers(min_value=0, max_value=256)))
def test_the_wait_stays_between_the_two_intervals(claims: list[int]) -> None:
    polling = Polling(busy_s=0.01, idle_s=0.1)
    for claimed in claims:
        wait = polling.after(claimed)
        assert 0.01 <= wait <= 0.1
        assert (wait == 0.01) == (claimed > 0)
