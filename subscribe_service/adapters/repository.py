"""SQL implementations of the subscribe service's ports, on one connection in one transaction."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime, timedelta
from uuid import UUID

from sqlalchemy import Connection, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.dialects.mysql import insert as mysql_insert

import chassis.unit_of_work
from contract.events import PostEvent
from subscribe_service.adapters.tables import (
    notifications,
    post_replicas,
    post_states,
    processed_events,
    subscriptions,
    webhook_deliveries,
    webhook_endpoints,
)
from subscribe_service.domain.deliveries import (
    Delivery,
    DeliveryRecord,
    NewDelivery,
    Status,
    Verdict,
)
from subscribe_service.domain.feed import FeedEntry
from subscribe_service.domain.notifications import Notification
from subscribe_service.domain.post_states import PostState
from subscribe_service.domain.subscriptions import SubscriptionPeriod
from subscribe_service.domain.webhooks import Endpoint
from subscribe_service.service.ports import (
    Backlog,
    Deliveries,
    Endpoints,
    Feed,
    Inbox,
    Notifications,
    PostStates,
    Subscriptions,
    UnitOfWork,
)

# The statements the consumer runs for every batch are built once, with their parameters bound
# at execution: building one again each time (and its key in SQLAlchemy's statement cache) cost
# more CPU than sending it.

# The authors' subscription periods that cover a moment between since and until.
PERIODS_OF = select(
    subscriptions.c.subscriber_id,
    subscriptions.c.author_id,
    subscriptions.c.subscribed_at,
    subscriptions.c.unsubscribed_at,
).where(
    subscriptions.c.author_id.in_(bindparam("author_ids", expanding=True)),
    subscriptions.c.subscribed_at <= bindparam("until"),
    or_(
        subscriptions.c.unsubscribed_at.is_(None),
        subscriptions.c.unsubscribed_at > bindparam("since"),
    ),
)
# INSERT IGNORE turns the duplicate key of an event seen before into "0 rows": no error, no race
# between a check and an insert. A concurrent attempt waits on the row lock.
RECORD_EVENT = insert(processed_events).prefix_with("IGNORE")
# A post taken to a state, if its version is newer than the one applied: no read before the
# write. MariaDB applies the assignments in order, so the version, which the others compare
# with, is assigned last (a list of pairs keeps that order; keywords would be put in the
# table's column order).
_NEW_STATE = mysql_insert(post_states)
_NEWER = _NEW_STATE.inserted.version > post_states.c.version
ADVANCE_STATE = _NEW_STATE.on_duplicate_key_update(
    [
        ("title", func.if_(_NEWER, _NEW_STATE.inserted.title, post_states.c.title)),
        ("deleted_at", func.if_(_NEWER, _NEW_STATE.inserted.deleted_at, post_states.c.deleted_at)),
        ("version", func.greatest(post_states.c.version, _NEW_STATE.inserted.version)),
    ]
)


# The dispatcher's statements, run every round (a claim, then a record of the outcomes): built
# once too. A claim locks due rows in the order they fell due, passing over those another
# dispatcher holds (SKIP LOCKED) and, in CLAIM_DUE_SKIPPING, the subscribers whose endpoints
# already have all their requests in flight.
CLAIM_DUE = (
    select(webhook_deliveries)
    .where(
        webhook_deliveries.c.status == Status.PENDING,
        webhook_deliveries.c.next_attempt_at <= bindparam("now"),
    )
    .order_by(webhook_deliveries.c.next_attempt_at)
    .limit(bindparam("limit"))
    .with_for_update(skip_locked=True)
)
CLAIM_DUE_SKIPPING = CLAIM_DUE.where(
    webhook_deliveries.c.subscriber_id.not_in(bindparam("busy", expanding=True))
)
LEASE = (
    update(webhook_deliveries)
    .where(webhook_deliveries.c.delivery_id.in_(bindparam("ids", expanding=True)))
    .values(next_attempt_at=bindparam("until"))
)
ENDPOINTS_OF = select(webhook_endpoints).where(
    webhook_endpoints.c.subscriber_id.in_(bindparam("subscriber_ids", expanding=True))
)
# Only a pending row: should a lease have run out and another dispatcher have delivered the row
# meanwhile, a late outcome of this attempt changes nothing. A delivered verdict's moment is the
# 2xx's, hence next_attempt_at = delivered_at.
SETTLE_DELIVERED = (
    update(webhook_deliveries)
    .where(
        webhook_deliveries.c.delivery_id.in_(bindparam("ids", expanding=True)),
        webhook_deliveries.c.status == Status.PENDING,
    )
    .values(
        status=Status.DELIVERED,
        attempts=webhook_deliveries.c.attempts + 1,
        next_attempt_at=bindparam("at"),
        delivered_at=bindparam("at"),
        last_error=None,
    )
)


def stored(moment: datetime) -> datetime:
    """A moment as the DATETIME columns hold it: UTC, without a zone."""
    return moment.astimezone(UTC).replace(tzinfo=None)


def loaded(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC)


class SqlSubscriptions(Subscriptions):
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(self, subscriber_id: int, author_id: int, at: datetime) -> None:
        # The unique key on the open period turns subscribing again while subscribed into "0 rows".
        self.connection.execute(
            insert(subscriptions)
            .prefix_with("IGNORE")
            .values(subscriber_id=subscriber_id, author_id=author_id, subscribed_at=stored(at))
        )

    def remove(self, subscriber_id: int, author_id: int, at: datetime) -> bool:
        result = self.connection.execute(
            update(subscriptions)
            .where(
                subscriptions.c.subscriber_id == subscriber_id,
                subscriptions.c.author_id == author_id,
                subscriptions.c.unsubscribed_at.is_(None),
            )
            .values(unsubscribed_at=stored(at))
        )
        return result.rowcount > 0

    def periods_of(
        self, author_ids: Collection[int], since: datetime, until: datetime
    ) -> list[SubscriptionPeriod]:
        if not author_ids:
            return []
        rows = self.connection.execute(
            PERIODS_OF,
            {"author_ids": list(author_ids), "since": stored(since), "until": stored(until)},
        )
        return [
            SubscriptionPeriod(
                row.subscriber_id,
                row.author_id,
                loaded(row.subscribed_at),
                None if row.unsubscribed_at is None else loaded(row.unsubscribed_at),
            )
            for row in rows
        ]


class SqlInbox(Inbox):
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def record(self, events: Sequence[PostEvent]) -> list[PostEvent]:
        rows = [
            {"event_id": str(e.event_id), "post_id": e.post_id, "version": e.version}
            for e in events
        ]
        if len(rows) > 1:
            # The usual batch is all new, and one statement records it. If an id was recorded
            # before (a redelivery, a replay) or comes twice, its row was ignored: the statement
            # is undone, and each event recorded alone tells which.
            savepoint = self.connection.begin_nested()
            if self.connection.execute(RECORD_EVENT, rows).rowcount == len(rows):
                savepoint.commit()
                return list(events)
            savepoint.rollback()
        return [
            event
            for event, row in zip(events, rows, strict=True)
            if self.connection.execute(RECORD_EVENT, row).rowcount == 1
        ]


class SqlNotifications(Notifications):
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(self, new: Sequence[Notification]) -> None:
        if not new:
            return
        self.connection.execute(
            insert(notifications),
            [
                {
                    "event_id": str(n.event_id),
                    "subscriber_id": n.subscriber_id,
                    "post_id": n.post_id,
                    "author_id": n.author_id,
                    "title": n.title,
                    "post_created_at": stored(n.created_at),
                }
                for n in new
            ],
        )

    def latest_for(self, subscriber_id: int, limit: int) -> list[Notification]:
        """The newest first, each with its post's title as it is now; none of a deleted post."""
        state = post_states
        rows = self.connection.execute(
            select(
                notifications,
                func.coalesce(state.c.title, notifications.c.title).label("current_title"),
            )
            .select_from(notifications.outerjoin(state, state.c.post_id == notifications.c.post_id))
            .where(notifications.c.subscriber_id == subscriber_id, state.c.deleted_at.is_(None))
            .order_by(notifications.c.notification_id.desc())
            .limit(limit)
        )
        return [
            Notification(
                UUID(row.event_id),
                row.subscriber_id,
                row.post_id,
                row.author_id,
                row.current_title,
                loaded(row.post_created_at),
                loaded(row.notified_at),
            )
            for row in rows
        ]


class SqlFeed(Feed):
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def latest_for(self, subscriber_id: int, limit: int) -> list[FeedEntry]:
        replica = post_replicas
        rows = self.connection.execute(
            select(replica, notifications.c.notified_at)
            .select_from(notifications.join(replica, replica.c.post_id == notifications.c.post_id))
            .where(notifications.c.subscriber_id == subscriber_id)
            # The newest post first: notifications of one batch are numbered in the order their
            # partitions came, not the order the posts were made in.
            .order_by(replica.c.created_at.desc(), replica.c.post_id.desc())
            .limit(limit)
        )
        return [
            FeedEntry(
                post_id=row.post_id,
                author_id=row.author_id,
                title=row.title,
                content=row.content,
                created_at=loaded(row.created_at),
                version=row.version,
                updated_at=loaded(row.updated_at) if row.updated_at else None,
                notified_at=loaded(row.notified_at),
            )
            for row in rows
        ]


class SqlPostStates(PostStates):
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def deleted_among(self, post_ids: Collection[int]) -> set[int]:
        if not post_ids:
            return set()
        rows = self.connection.execute(
            select(post_states.c.post_id).where(
                post_states.c.post_id.in_(list(post_ids)), post_states.c.deleted_at.is_not(None)
            )
        )
        return set(rows.scalars())

    def advance(self, states: Sequence[PostState]) -> None:
        if not states:
            return
        # One statement of many rows, applied in their order: two changes of a post in one
        # batch leave it at the newer.
        self.connection.execute(
            ADVANCE_STATE,
            [
                {
                    "post_id": state.post_id,
                    "version": state.version,
                    "title": state.title,
                    "deleted_at": None if state.deleted_at is None else stored(state.deleted_at),
                }
                for state in states
            ],
        )


class SqlEndpoints(Endpoints):
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def put(self, endpoint: Endpoint) -> None:
        values = {"url": endpoint.url, "secret": endpoint.secret, "updated_at": func.now(6)}
        self.connection.execute(
            mysql_insert(webhook_endpoints)
            .values(subscriber_id=endpoint.subscriber_id, **values)
            .on_duplicate_key_update(**values)
        )

    def get(self, subscriber_id: int) -> Endpoint | None:
        row = self.connection.execute(
            select(webhook_endpoints).where(webhook_endpoints.c.subscriber_id == subscriber_id)
        ).first()
        return None if row is None else Endpoint(row.subscriber_id, row.url, row.secret)

    def remove(self, subscriber_id: int) -> bool:
        result = self.connection.execute(
            delete(webhook_endpoints).where(webhook_endpoints.c.subscriber_id == subscriber_id)
        )
        return result.rowcount > 0

    def having(self, subscriber_ids: Collection[int]) -> set[int]:
        if not subscriber_ids:
            return set()
        rows = self.connection.execute(
            select(webhook_endpoints.c.subscriber_id).where(
                webhook_endpoints.c.subscriber_id.in_(list(subscriber_ids))
            )
        )
        return set(rows.scalars())


class SqlDeliveries(Deliveries):
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(self, deliveries: Sequence[NewDelivery], at: datetime) -> None:
        if not deliveries:
            return
        moment = stored(at)
        self.connection.execute(
            insert(webhook_deliveries),
            [
                {
                    "webhook_id": d.webhook_id,
                    "event_id": d.event_id,
                    "subscriber_id": d.subscriber_id,
                    "body": d.body,
                    "status": Status.PENDING,
                    "attempts": 0,
                    "created_at": moment,
                    "next_attempt_at": moment,
                }
                for d in deliveries
            ],
        )

    def claim(
        self,
        now: datetime,
        lease: timedelta,
        limit: int,
        skip_subscribers: Collection[int] = (),
        per_subscriber: int = 1_000_000,
    ) -> list[Delivery]:
        """Locks due rows, passing over those another dispatcher holds (SKIP LOCKED), keeps at
        most per_subscriber of each subscriber and leases those: due again only after the lease.
        The rows it passes over stay due, and unlocked once this transaction ends."""
        due = {"now": stored(now), "limit": limit}
        if skip_subscribers:
            found = self.connection.execute(
                CLAIM_DUE_SKIPPING, {**due, "busy": list(skip_subscribers)}
            )
        else:
            found = self.connection.execute(CLAIM_DUE, due)
        taken: dict[int, int] = {}
        rows = []
        for row in found:
            if taken.get(row.subscriber_id, 0) < per_subscriber:
                taken[row.subscriber_id] = taken.get(row.subscriber_id, 0) + 1
                rows.append(row)
        if not rows:
            return []
        self.connection.execute(
            LEASE, {"ids": [row.delivery_id for row in rows], "until": stored(now + lease)}
        )
        endpoints = self.endpoints(set(taken))
        return [
            Delivery(
                row.delivery_id,
                row.webhook_id,
                row.event_id,
                row.subscriber_id,
                row.body,
                row.attempts,
                loaded(row.created_at),
                endpoints.get(row.subscriber_id),
            )
            for row in rows
        ]

    def endpoints(self, subscriber_ids: set[int]) -> dict[int, Endpoint]:
        rows = self.connection.execute(ENDPOINTS_OF, {"subscriber_ids": list(subscriber_ids)})
        return {row.subscriber_id: Endpoint(row.subscriber_id, row.url, row.secret) for row in rows}

    def settle(self, delivery_id: int, verdict: Verdict, now: datetime) -> None:
        delivered = verdict.status == Status.DELIVERED
        # Only a pending row: should a lease have run out and another dispatcher have delivered
        # the row meanwhile, a late failure of this attempt does not make it pending again.
        self.connection.execute(
            update(webhook_deliveries)
            .where(
                webhook_deliveries.c.delivery_id == delivery_id,
                webhook_deliveries.c.status == Status.PENDING,
            )
            .values(
                status=verdict.status,
                attempts=webhook_deliveries.c.attempts + 1,
                next_attempt_at=stored(verdict.next_attempt_at),
                delivered_at=stored(now) if delivered else None,
                last_error=None if delivered else verdict.error,
            )
        )

    def settle_all(self, verdicts: Sequence[tuple[int, Verdict]], now: datetime) -> None:
        """The delivered ones, the most, in one statement; the others one by one."""
        delivered = [d for d, verdict in verdicts if verdict.status == Status.DELIVERED]
        if delivered:
            self.connection.execute(SETTLE_DELIVERED, {"ids": delivered, "at": stored(now)})
        for delivery_id, verdict in verdicts:
            if verdict.status != Status.DELIVERED:
                self.settle(delivery_id, verdict, now)

    def revive(self, now: datetime, subscriber_id: int | None, limit: int) -> int:
        query = (
            update(webhook_deliveries)
            .where(webhook_deliveries.c.status == Status.DEAD)
            .with_dialect_options(mysql_limit=limit)
        )
        if subscriber_id is not None:
            query = query.where(webhook_deliveries.c.subscriber_id == subscriber_id)
        # created_at anew too: the retry policy's hours count from the revival, not the first try.
        moment = stored(now)
        result = self.connection.execute(
            query.values(
                status=Status.PENDING, attempts=0, created_at=moment, next_attempt_at=moment
            )
        )
        return result.rowcount

    def of_subscriber(
        self, subscriber_id: int, status: Status | None, limit: int
    ) -> list[DeliveryRecord]:
        query = (
            select(webhook_deliveries)
            .where(webhook_deliveries.c.subscriber_id == subscriber_id)
            .order_by(webhook_deliveries.c.delivery_id.desc())
            .limit(limit)
        )
        if status is not None:
            query = query.where(webhook_deliveries.c.status == status)
        return [
            DeliveryRecord(
                row.webhook_id,
                row.event_id,
                Status(row.status),
                row.attempts,
                loaded(row.created_at),
                loaded(row.next_attempt_at),
                None if row.delivered_at is None else loaded(row.delivered_at),
                row.last_error,
            )
            for row in self.connection.execute(query)
        ]

    def backlog(self, now: datetime) -> Backlog:
        rows = self.connection.execute(
            select(
                webhook_deliveries.c.status, func.count(), func.min(webhook_deliveries.c.created_at)
            )
            .where(webhook_deliveries.c.status.in_([Status.PENDING, Status.DEAD]))
            .group_by(webhook_deliveries.c.status)
        )
        found = {row[0]: (int(row[1]), row[2]) for row in rows}
        pending, oldest = found.get(Status.PENDING, (0, None))
        age = 0.0 if oldest is None else (stored(now) - oldest).total_seconds()
        return Backlog(pending, max(0.0, age), found.get(Status.DEAD, (0, None))[0])


class SqlUnitOfWork(chassis.unit_of_work.SqlUnitOfWork, UnitOfWork):
    def bind(self, connection: Connection) -> None:
        self.subscriptions = SqlSubscriptions(connection)
        self.inbox = SqlInbox(connection)
        self.notifications = SqlNotifications(connection)
        self.post_states = SqlPostStates(connection)
        self.feed = SqlFeed(connection)
        self.endpoints = SqlEndpoints(connection)
        self.deliveries = SqlDeliveries(connection)
