"""The delivery audit: every accepted post, to each of its author's subscribers, exactly once.

It reads the subscribe service's notifications table directly: the notification's commit time
(`notified_at`) and the post's creation time both come from the databases, to the microsecond.
With webhooks on, it also audits what the run's receiver got: every (event, subscriber) pair at
least once, and once after the receiver's dedupe by `webhook-id`. And it audits the read model:
the JDBC sink's copy (`post_replicas`) must equal the post database's `posts`, row for row.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

import aiohttp
from sqlalchemy import ColumnClause, Engine, Table, func, literal_column, select

from loadtest.generator import Changed, Sent
from loadtest.receiver import Receiver
from post_service.adapters.tables import posts
from subscribe_service.adapters.tables import (
    notifications,
    post_replicas,
    post_states,
    processed_events,
)

TITLES_PER_QUERY = 500  # the titles one IN (...) looks up
# One row of `posts`, or of its replica, as 64 bits of the MD5 of every column the two share;
# a table's checksum is its row count and the XOR of its rows' digests.
_ROW_DIGEST: ColumnClause[Any] = literal_column(
    "CAST(CONV(LEFT(MD5(CONCAT_WS(0x1f, post_id, author_id, title, content, created_at,"
    " version, IFNULL(updated_at, '-'))), 16), 16, 10) AS UNSIGNED)"
)


def batched(items: list[str], size: int) -> Iterator[list[str]]:
    """The items, `size` at a time (itertools.batched comes with Python 3.12)."""
    return (items[i : i + size] for i in range(0, len(items), size))


@dataclass
class Delivery:
    """One notification row of the run."""

    event_id: str
    subscriber_id: int
    e2e_ms: float
    notified_at_epoch: float


@dataclass
class AuditResult:
    accepted: int  # posts stored: answered 201, or found stored after an unknown outcome
    delivered: int  # accepted posts that reached every one of their author's subscribers
    lost_events: list[str] = field(default_factory=list)
    duplicated_events: list[str] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    # Requests without a clear answer (a timeout, a reset, a 5xx), found stored or not afterwards.
    unknown_committed: int = 0
    unknown_not_committed: int = 0
    # Requests whose title the post database holds more than once: a retry that made a second post.
    doubled_posts: int = 0
    # Posts of the run whose versions the consumer applied in an order that went down somewhere.
    order_violations: int = 0
    # Edits (answered 200) and deletions (answered 204) the consumer has not applied.
    changes_lost: int = 0


@dataclass
class ReceiverAudit:
    """What reached the run's webhook receiver, against what the accepted posts must cause."""

    expected: int  # (event, subscriber) pairs
    received: int  # of those, the pairs that arrived (answered 2xx) at least once
    lost: list[str] = field(default_factory=list)  # event ids with a pair that never arrived
    unexpected: int = 0  # pairs that arrived and no accepted post causes
    again_after_2xx: int = 0  # deliveries the dedupe absorbed: at least once, not exactly once
    e2e_ms: list[float] = field(default_factory=list)  # from the request to the first arrival
    answered: dict[str, int] = field(default_factory=dict)  # HTTP status -> requests answered so
    unverified: int = 0  # requests whose signature did not verify
    misrouted: int = 0  # deliveries at another subscriber's path
    changed: int = 0  # webhook-ids sent again with other bytes


@dataclass
class ReadModelAudit:
    """The read model against its source, once the load ended."""

    rows: int  # in the post database's posts table
    differing_rows: int  # post ids whose row is missing, extra or different in the replica
    converged_s: float | None  # from the end of the load until the checksums matched
    # Per post of the run still in the copy, from its last change's time in the post database
    # (created_at or updated_at, set in its transaction) to the sink's write (replicated_at).
    lag_ms: list[float] = field(default_factory=list)


class Audience:
    """The authors of a run and their subscribers: fresh random ids, so runs never mix."""

    def __init__(self, authors: list[int], subscribers: dict[int, list[int]]) -> None:
        self.authors = authors
        self.subscribers = subscribers

    @property
    def all_subscribers(self) -> list[int]:
        return [s for group in self.subscribers.values() for s in group]

    async def subscribe(self, subscribe_url: str, receiver: Receiver | None) -> None:
        """Subscribes each subscriber to its author and, with a receiver, registers it as each
        subscriber's webhook endpoint."""
        async with aiohttp.ClientSession(subscribe_url) as session:
            for author, group in self.subscribers.items():
                for subscriber in group:
                    body = {"subscriber_id": subscriber, "author_id": author}
                    async with session.post("/subscriptions", json=body) as response:
                        response.raise_for_status()
                    if receiver is None:
                        continue
                    endpoint = {
                        "url": receiver.url_for(subscriber),
                        "secret": receiver.secret_for(subscriber),
                    }
                    async with session.put(
                        f"/subscribers/{subscriber}/endpoint", json=endpoint
                    ) as response:
                        response.raise_for_status()

    async def remove_endpoints(self, subscribe_url: str) -> None:
        """After the run its receiver is gone: without this, the dispatcher would retry whatever
        is pending for it until the retry policy gives up, a day later."""
        async with aiohttp.ClientSession(subscribe_url) as session:
            for subscriber in self.all_subscribers:
                async with session.delete(f"/subscribers/{subscriber}/endpoint") as response:
                    if response.status != 404:
                        response.raise_for_status()

    def pairs(self, sent: list[Sent]) -> dict[tuple[str, int], Sent]:
        """(event, subscriber) pairs the stored posts must cause, each with its post's request."""
        return {
            (s.event_id, subscriber): s
            for s in sent
            if s.event_id is not None
            for subscriber in self.subscribers[s.author_id]
        }

    def audit_receiver(self, receiver: Receiver, sent: list[Sent], started: float) -> ReceiverAudit:
        expected = self.pairs(sent)
        arrived = receiver.pairs()
        lost = sorted(
            {event for event, subscriber in expected if (event, subscriber) not in arrived}
        )
        return ReceiverAudit(
            expected=len(expected),
            received=sum(1 for pair in expected if pair in arrived),
            lost=lost,
            unexpected=sum(1 for pair in arrived if pair not in expected),
            again_after_2xx=receiver.again,
            e2e_ms=[
                (arrival.at_monotonic - started - expected[pair].scheduled_s) * 1000
                for pair, arrival in arrived.items()
                if pair in expected
            ],
            answered={str(status): n for status, n in sorted(receiver.answered.items())},
            unverified=receiver.unverified,
            misrouted=receiver.misrouted,
            changed=receiver.changed,
        )


class Auditor:
    """Reads the subscribe database for the notifications, and the post database to find out
    whether a request without a clear answer stored its post."""

    def __init__(self, engine: Engine, audience: Audience, post_engine: Engine) -> None:
        self.engine = engine
        self.audience = audience
        self.post_engine = post_engine

    def expected(self, sent: list[Sent]) -> int:
        """Notifications the accepted posts must cause."""
        return sum(len(self.audience.subscribers[s.author_id]) for s in sent if s.stored)

    def resolve_unknown(self, sent: list[Sent]) -> None:
        """Looks up, by its title (unique in the run), the post of every request whose outcome
        the client does not know, and takes the event of each one that was stored."""
        unknown = {s.title: s for s in sent if s.outcome_unknown}
        titles = list(unknown)
        with self.post_engine.connect() as connection:
            for batch in batched(titles, TITLES_PER_QUERY):
                rows = connection.execute(
                    select(posts.c.title, posts.c.post_id, posts.c.event_id).where(
                        posts.c.author_id.in_(self.audience.authors), posts.c.title.in_(batch)
                    )
                )
                for row in rows:
                    unknown[row.title].post_id = row.post_id
                    unknown[row.title].event_id = row.event_id

    def doubled_posts(self, sent: list[Sent]) -> int:
        """Titles (one per request, unique in the run) the post database holds more than once."""
        titles = [s.title for s in sent]
        doubled = 0
        with self.post_engine.connect() as connection:
            for batch in batched(titles, TITLES_PER_QUERY):
                doubled += len(
                    connection.execute(
                        select(posts.c.title)
                        .where(
                            posts.c.author_id.in_(self.audience.authors), posts.c.title.in_(batch)
                        )
                        .group_by(posts.c.title)
                        .having(func.count() > 1)
                    ).all()
                )
        return doubled

    def missing(self, sent: list[Sent], receiver: Receiver | None) -> int:
        """(event, subscriber) pairs the accepted posts must cause and that are not there yet: in
        the notifications table and, with a receiver, at the receiver."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(notifications.c.event_id, notifications.c.subscriber_id).where(
                    notifications.c.subscriber_id.in_(self.audience.all_subscribers)
                )
            ).all()
        have = {(row.event_id, row.subscriber_id) for row in rows}
        expected = self.audience.pairs(sent)
        missing = sum(pair not in have for pair in expected)
        if receiver is not None:
            arrived = receiver.pairs()
            missing += sum(pair not in arrived for pair in expected)
        return missing

    def notification_count(self) -> int:
        with self.engine.connect() as connection:
            query = select(func.count()).where(
                notifications.c.subscriber_id.in_(self.audience.all_subscribers)
            )
            return connection.scalar(query) or 0

    def audit(self, sent: list[Sent], changed: list[Changed] | None = None) -> AuditResult:
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(
                    notifications.c.event_id,
                    notifications.c.subscriber_id,
                    notifications.c.post_created_at,
                    notifications.c.notified_at,
                ).where(notifications.c.subscriber_id.in_(self.audience.all_subscribers))
            ).all()
        deliveries = [
            Delivery(
                row.event_id,
                row.subscriber_id,
                (row.notified_at - row.post_created_at).total_seconds() * 1000,
                row.notified_at.replace(tzinfo=UTC).timestamp(),
            )
            for row in rows
        ]
        pairs = Counter((d.event_id, d.subscriber_id) for d in deliveries)
        accepted = [(s.event_id, s.author_id) for s in sent if s.event_id]
        unknown = [s for s in sent if s.outcome_unknown]
        committed = sum(1 for s in unknown if s.stored)
        lost, duplicated = [], []
        for event_id, author in accepted:
            counts = [pairs[(event_id, s)] for s in self.audience.subscribers[author]]
            if any(count == 0 for count in counts):
                lost.append(event_id)
            if any(count > 1 for count in counts):
                duplicated.append(event_id)
        return AuditResult(
            accepted=len(accepted),
            delivered=len(accepted) - len(lost),
            lost_events=lost,
            duplicated_events=duplicated,
            deliveries=deliveries,
            unknown_committed=committed,
            unknown_not_committed=len(unknown) - committed,
            doubled_posts=self.doubled_posts(sent),
            order_violations=self.order_violations(sent),
            changes_lost=self.edits_not_applied(changed or [])
            + self.deletions_not_applied(changed or []),
        )

    def checksums(self) -> tuple[tuple[int, int], tuple[int, int]]:
        """(rows, XOR of row digests) of the source table and of the read model."""

        def checksum(engine: Engine, table: Table) -> tuple[int, int]:
            digests = func.coalesce(func.bit_xor(_ROW_DIGEST), 0)
            with engine.connect() as connection:
                count, digest = connection.execute(
                    select(func.count(), digests).select_from(table)
                ).one()
            return int(count), int(digest)

        return checksum(self.post_engine, posts), checksum(self.engine, post_replicas)

    def read_model_lags_ms(self) -> list[float]:
        """The run's posts' lag into the read model (see ReadModelAudit.lag_ms)."""
        changed_at = func.coalesce(post_replicas.c.updated_at, post_replicas.c.created_at)
        lag_us = func.timestampdiff(
            literal_column("MICROSECOND"), changed_at, post_replicas.c.replicated_at
        )
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(lag_us).where(post_replicas.c.author_id.in_(self.audience.authors))
            )
            return [float(lag) / 1000 for lag in rows.scalars()]

    def differing_rows(self) -> int:
        """Post ids whose row the read model lacks, has in excess, or holds otherwise."""

        def digests(engine: Engine, table: Table) -> dict[int, int]:
            with engine.connect() as connection:
                rows = connection.execute(select(table.c.post_id, _ROW_DIGEST).select_from(table))
                return {int(post_id): int(digest) for post_id, digest in rows}

        source, replica = digests(self.post_engine, posts), digests(self.engine, post_replicas)
        return sum(source.get(key) != replica.get(key) for key in source.keys() | replica.keys())

    def edits_not_applied(self, changed: list[Changed]) -> int:
        """Edits answered 200 whose version the consumer has not applied yet."""
        answered = {(c.post_id, c.version) for c in changed if c.kind == "edit" and c.version}
        if not answered:
            return 0
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(processed_events.c.post_id, processed_events.c.version).where(
                    processed_events.c.post_id.in_({post_id for post_id, _ in answered})
                )
            )
            applied = {(row.post_id, row.version) for row in rows}
        return len(answered - applied)

    def deletions_not_applied(self, changed: list[Changed]) -> int:
        """Deletions answered 204 that the consumer has not applied: the post not gone there."""
        answered = {c.post_id for c in changed if c.kind == "delete" and c.status == 204}
        if not answered:
            return 0
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(post_states.c.post_id).where(
                    post_states.c.post_id.in_(answered), post_states.c.deleted_at.is_not(None)
                )
            )
            return len(answered - set(rows.scalars()))

    def order_violations(self, sent: list[Sent]) -> int:
        """The run's posts whose events the consumer applied out of their order: a version
        applied after a higher one of the same post (the inbox's applied_seq is the order)."""
        post_ids = [str(s.post_id) for s in sent if s.post_id is not None]
        applied: dict[int, list[int]] = {}
        with self.engine.connect() as connection:
            for chunk in batched(post_ids, TITLES_PER_QUERY):
                rows = connection.execute(
                    select(processed_events.c.post_id, processed_events.c.version)
                    .where(processed_events.c.post_id.in_([int(p) for p in chunk]))
                    .order_by(processed_events.c.applied_seq)
                )
                for post_id, version in rows:
                    applied.setdefault(post_id, []).append(version)
        return sum(versions != sorted(versions) for versions in applied.values())
