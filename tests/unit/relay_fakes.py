"""Fakes of the polling relay's ports: an outbox queue in memory, and a Kafka that acknowledges
what it is told to."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field

from contract.events import PostEvent
from post_service.service import ports


@dataclass
class Row:
    event: PostEvent | None  # None: a row whose payload cannot be read
    published: bool = False
    set_aside_error: str | None = None


@dataclass
class Queue:
    """The outbox's rows in their order, as the fake database holds them."""

    rows: dict[str, Row] = field(default_factory=dict)


class FakePendingEvents(ports.PendingEvents):
    def __init__(self, queue: Queue) -> None:
        self.queue = queue

    def claim(self, limit: int) -> ports.Claimed:
        waiting = [
            (event_id, row)
            for event_id, row in self.queue.rows.items()
            if not row.published and row.set_aside_error is None
        ][:limit]
        claimed = ports.Claimed(events=[])
        for event_id, row in waiting:
            if row.event is None:
                claimed.unreadable[event_id] = "KeyError: 'title'"
            else:
                claimed.events.append(row.event)
        return claimed

    def set_aside(self, unreadable: dict[str, str]) -> None:
        for event_id, error in unreadable.items():
            self.queue.rows[event_id].set_aside_error = error

    def mark_published(self, event_ids: set[str]) -> None:
        for event_id in event_ids:
            self.queue.rows[event_id].published = True

    def backlog(self) -> tuple[int, float]:
        return sum(not r.published for r in self.queue.rows.values()), 0.0

    def purge(self, older_than_s: float) -> int:
        return 0


class FakeRelayUnitOfWork(ports.RelayUnitOfWork):
    """Works on a copy of the queue; commit puts it back, anything else leaves it as it was."""

    def __init__(self, committed: Queue) -> None:
        self.committed = committed
        self.working = copy.deepcopy(committed)
        self.pending = FakePendingEvents(self.working)

    def commit(self) -> None:
        self.committed.rows = self.working.rows

    def rollback(self) -> None:
        self.working = copy.deepcopy(self.committed)
        self.pending = FakePendingEvents(self.working)


class Everything(set[str]):
    """Stands for every event id."""

    def __contains__(self, item: object) -> bool:
        return True


ALL = Everything()


class FakeKafka(ports.Publisher):
    """Acknowledges every event, except those it is told to lose (ALL: loses every one)."""

    def __init__(self, loses: set[str] | None = None) -> None:
        self.loses = loses if loses is not None else set()
        self.sent: list[PostEvent] = []

    def publish(self, events: Sequence[PostEvent], timeout_s: float) -> set[str]:
        self.sent.extend(events)
        return {str(e.event_id) for e in events if str(e.event_id) not in self.loses}

    def close(self) -> None:
        pass
