"""The polling relay's order rules, as properties: each post's published rows stay a prefix of
its rows, whatever another relay holds and whatever Kafka acknowledges."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from hypothesis import given
from hypothesis import strategies as st

from contract.events import PostUpdated
from post_service.domain.publication import Pending, acknowledged_in_order, publishable

# A few posts, each with its unpublished rows (sequences), and which of them this claim holds.
rows_held = st.lists(st.tuples(st.sampled_from("abc"), st.booleans()), min_size=1, max_size=20).map(
    lambda drawn: [(post, held, sequence) for sequence, (post, held) in enumerate(drawn)]
)


@given(rows_held)
def test_a_claimed_row_goes_only_after_every_earlier_row_of_its_post(
    rows: list[tuple[str, bool, int]],
) -> None:
    claimed = [Pending(f"e{sequence}", post, sequence) for post, held, sequence in rows if held]
    unpublished: dict[str, list[int]] = {}
    for post, _, sequence in rows:
        unpublished.setdefault(post, []).append(sequence)

    allowed = publishable(claimed, unpublished)

    assert allowed <= {row.event_id for row in claimed}
    for post, _, sequence in rows:
        earlier = [(h, s) for p, h, s in rows if p == post and s < sequence]
        every_earlier_held = all(h for h, _ in earlier)
        held = any(row.sequence == sequence for row in claimed)
        assert (f"e{sequence}" in allowed) == (held and every_earlier_held)


@given(st.lists(st.tuples(st.integers(1, 3), st.booleans()), max_size=20))
def test_rows_are_marked_published_only_up_to_the_first_failure_of_their_post(
    sent: list[tuple[int, bool]],
) -> None:
    events = [
        PostUpdated(uuid4(), post_id, 1, "t", version, datetime.now(UTC))
        for version, (post_id, _) in enumerate(sent, start=2)
    ]
    acknowledged = {str(e.event_id) for e, (_, ok) in zip(events, sent, strict=True) if ok}

    marked = acknowledged_in_order(events, acknowledged)

    assert marked <= acknowledged
    for post_id in {e.post_id for e in events}:
        mine = [str(e.event_id) for e in events if e.post_id == post_id]
        flags = [event_id in marked for event_id in mine]
        assert flags == sorted(flags, reverse=True)  # marked ones first, then none
        first_unmarked = flags.index(False) if False in flags else len(flags)
        assert first_unmarked == len(mine) or mine[first_unmarked] not in acknowledged
