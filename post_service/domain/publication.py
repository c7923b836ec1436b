"""The order the polling relay publishes a post's events in: the order they were written in.

Two relays claim disjoint rows (SKIP LOCKED), so one post's events can be split between them: a
relay holding a post's later event must not publish it while the earlier one, held by the other
relay or not acknowledged by Kafka, is still unpublished. Both rules below keep each post's
published rows a prefix of its rows: the first unpublished row of a post is always the next to go.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from contract.events import PostEvent


@dataclass(frozen=True)
class Pending:
    """An unpublished outbox row: whose (the aggregate, a post) and where in the order."""

    event_id: str
    aggregate_id: str
    sequence: int


def publishable(claimed: Iterable[Pending], unpublished: Mapping[str, Sequence[int]]) -> set[str]:
    """The claimed rows that may be published now: for each post, the claimed rows from its first
    unpublished one on, up to the first unpublished row this claim does not hold (another relay
    holds it: what comes after it waits for the next round). `unpublished` holds the sequences of
    each claimed post's unpublished rows, in order."""
    claimed_by_sequence = {row.sequence: row.event_id for row in claimed}
    allowed: set[str] = set()
    for sequences in unpublished.values():
        for sequence in sequences:
            if sequence not in claimed_by_sequence:
                break
            allowed.add(claimed_by_sequence[sequence])
    return allowed


def acknowledged_in_order(sent: Sequence[PostEvent], acknowledged: set[str]) -> set[str]:
    """The rows to mark published: for each post, those Kafka acknowledged up to the first it did
    not. A later event acknowledged after an earlier one failed stays unpublished too and goes
    again after it (the subscriber's inbox skips the copy), so no post's rows are marked out of
    order. `sent` is in the order the rows were sent, theirs."""
    blocked: set[str] = set()
    marked: set[str] = set()
    for event in sent:
        if event.aggregate_id in blocked:
            continue
        if str(event.event_id) in acknowledged:
            marked.add(str(event.event_id))
        else:
            blocked.add(event.aggregate_id)
    return marked
