"""In-memory fakes that subclass the real ports: a transaction that commits or rolls back."""

from __future__ import annotations

import copy
import dataclasses
import threading
from collections.abc import Collection, Sequence
from datetime import UTC, datetime, timedelta
from types import TracebackType

from contract.events import PostCreated, PostEvent
from post_service.domain.idempotency import EarlierAttempt, IdempotencyKey
from post_service.domain.posts import NewPost, Post, new_event_id, now
from post_service.service import ports as post_ports
from subscribe_service.domain.deliveries import (
    Delivery,
    DeliveryRecord,
    NewDelivery,
    Outcome,
    Status,
    Verdict,
)
from subscribe_service.domain.notifications import Notification
from subscribe_service.domain.post_states import PostState
from subscribe_service.domain.subscriptions import SubscriptionPeriod
from subscribe_service.domain.webhooks import Endpoint
from subscribe_service.service import ports as subscribe_ports

# A subscription a test put in the store without a period: it covers every moment.
SINCE_EVER = datetime.min.replace(tzinfo=UTC)


class PostStore:
    """What the fake database holds; each unit of work edits a copy and commits it back."""

    def __init__(self) -> None:
        self.posts: dict[int, Post] = {}
        self.outbox: list[PostEvent] = []
        self.keys: dict[str, EarlierAttempt] = {}


class FakePosts(post_ports.PostRepository):
    def __init__(self, store: PostStore) -> None:
        self.store = store

    def add(self, new_post: NewPost) -> Post:
        post_id = len(self.store.posts) + 1
        post = Post(
            post_id, new_post.author_id, new_post.title, new_post.content, now(), new_event_id()
        )
        self.store.posts[post.post_id] = post
        return post

    def add_all(self, new_posts: Sequence[NewPost]) -> list[Post]:
        return [self.add(new_post) for new_post in new_posts]

    def get(self, post_id: int, for_update: bool = False) -> Post | None:
        return self.store.posts.get(post_id)

    def save(self, post: Post) -> None:
        self.store.posts[post.post_id] = post

    def remove(self, post_id: int) -> None:
        del self.store.posts[post_id]

    def created_since(self, since: datetime, after_post_id: int, limit: int) -> list[Post]:
        found = [p for p in self.store.posts.values() if p.created_at >= since]
        return sorted((p for p in found if p.post_id > after_post_id), key=lambda p: p.post_id)[
            :limit
        ]


class FakeOutbox(post_ports.Outbox):
    def __init__(self, store: PostStore, fail: bool = False) -> None:
        self.store = store
        self.fail = fail

    def append(self, event: PostEvent) -> None:
        if self.fail:
            raise RuntimeError("the outbox insert failed")
        self.store.outbox.append(event)

    def append_all(self, events: Sequence[PostEvent]) -> None:
        for event in events:
            self.append(event)

    def append_again(self, event: PostCreated) -> None:
        self.store.outbox = [e for e in self.store.outbox if e.event_id != event.event_id]
        self.append(event)


class FakeIdempotencyKeys(post_ports.IdempotencyKeys):
    def __init__(self, store: PostStore) -> None:
        self.store = store

    def claim(self, key: IdempotencyKey) -> EarlierAttempt | None:
        earlier = self.store.keys.get(key.key)
        if earlier is not None and earlier.post_id:
            return earlier
        self.store.keys[key.key] = EarlierAttempt(key.fingerprint, 0)
        return None

    def complete(self, key: str, post_id: int) -> None:
        self.store.keys[key] = EarlierAttempt(self.store.keys[key].fingerprint, post_id)

    def record_all(self, made: Sequence[tuple[IdempotencyKey, int]]) -> None:
        for key, post_id in made:
            if key.key in self.store.keys:
                raise post_ports.BatchRefused(f"key {key.key!r} is stored already")
            self.store.keys[key.key] = EarlierAttempt(key.fingerprint, post_id)

    def purge_expired(self, limit: int) -> int:
        return 0


class FakePostUnitOfWork(post_ports.UnitOfWork):
    def __init__(self, committed: PostStore, fail_outbox: bool = False) -> None:
        self.committed = committed
        self.fail_outbox = fail_outbox

    def __enter__(self) -> FakePostUnitOfWork:
        self.pending = copy.deepcopy(self.committed)
        self.posts = FakePosts(self.pending)
        self.outbox = FakeOutbox(self.pending, self.fail_outbox)
        self.keys = FakeIdempotencyKeys(self.pending)
        return self

    def commit(self) -> None:
        self.committed.__dict__.update(self.pending.__dict__)

    def rollback(self) -> None:
        self.pending = PostStore()


class SubscribeStore:
    def __init__(self) -> None:
        # (subscriber, author) subscribed now; one put here without a period counts since ever.
        self.subscriptions: set[tuple[int, int]] = set()
        self.periods: list[SubscriptionPeriod] = []
        self.processed: set[str] = set()
        self.notifications: list[Notification] = []
        self.endpoints: dict[int, Endpoint] = {}
        self.deliveries: list[StoredDelivery] = []
        # post -> (version, title, deleted_at): the newest applied
        self.post_states: dict[int, tuple[int, str | None, datetime | None]] = {}


class FakeSubscriptions(subscribe_ports.Subscriptions):
    def __init__(self, store: SubscribeStore) -> None:
        self.store = store

    def add(self, subscriber_id: int, author_id: int, at: datetime) -> None:
        if (subscriber_id, author_id) not in self.store.subscriptions:
            self.store.subscriptions.add((subscriber_id, author_id))
            self.store.periods.append(SubscriptionPeriod(subscriber_id, author_id, at))

    def remove(self, subscriber_id: int, author_id: int, at: datetime) -> bool:
        found = (subscriber_id, author_id) in self.store.subscriptions
        self.store.subscriptions.discard((subscriber_id, author_id))
        self.store.periods = [
            dataclasses.replace(p, unsubscribed_at=at)
            if (p.subscriber_id, p.author_id, p.unsubscribed_at) == (subscriber_id, author_id, None)
            else p
            for p in self.store.periods
        ]
        return found

    def periods_of(
        self, author_ids: Collection[int], since: datetime, until: datetime
    ) -> list[SubscriptionPeriod]:
        periods = [
            p
            for p in self.store.periods
            if p.author_id in author_ids
            and p.subscribed_at <= until
            and (p.unsubscribed_at is None or p.unsubscribed_at > since)
        ]
        timed = {(p.subscriber_id, p.author_id) for p in self.store.periods}
        since_ever = [
            SubscriptionPeriod(subscriber_id, author_id, SINCE_EVER)
            for subscriber_id, author_id in self.store.subscriptions - timed
            if author_id in author_ids
        ]
        return periods + since_ever


class FakeInbox(subscribe_ports.Inbox):
    def __init__(self, store: SubscribeStore) -> None:
        self.store = store

    def record(self, events: Sequence[PostEvent]) -> list[PostEvent]:
        new = []
        for event in events:
            if str(event.event_id) not in self.store.processed:
                self.store.processed.add(str(event.event_id))
                new.append(event)
        return new


class FakeNotifications(subscribe_ports.Notifications):
    def __init__(self, store: SubscribeStore) -> None:
        self.store = store

    def add(self, notifications: Sequence[Notification]) -> None:
        self.store.notifications.extend(notifications)

    def latest_for(self, subscriber_id: int, limit: int) -> list[Notification]:
        states = self.store.post_states
        mine = [
            dataclasses.replace(n, title=states[n.post_id][1] or n.title)
            if n.post_id in states
            else n
            for n in self.store.notifications
            if n.subscriber_id == subscriber_id
            and (n.post_id not in states or states[n.post_id][2] is None)
        ]
        return mine[::-1][:limit]


class FakePostStates(subscribe_ports.PostStates):
    def __init__(self, store: SubscribeStore) -> None:
        self.store = store

    def deleted_among(self, post_ids: Collection[int]) -> set[int]:
        states = self.store.post_states
        return {p for p in post_ids if p in states and states[p][2] is not None}

    def advance(self, states: Sequence[PostState]) -> None:
        for state in states:
            applied = self.store.post_states.get(state.post_id)
            if applied is None or state.version > applied[0]:
                self.store.post_states[state.post_id] = (
                    state.version,
                    state.title,
                    state.deleted_at,
                )


class FakeSubscribeUnitOfWork(subscribe_ports.UnitOfWork):
    """A transaction on a copy of the store, committed by replacing the store. Transactions run
    one at a time (the dispatcher's claims and records run in threads side by side): a copy
    taken before another's commit would otherwise undo that commit, which a database's row locks
    never let happen."""

    SERIAL = threading.RLock()

    def __init__(self, committed: SubscribeStore) -> None:
        self.committed = committed

    def __enter__(self) -> FakeSubscribeUnitOfWork:
        self.SERIAL.acquire()
        self.pending = copy.deepcopy(self.committed)
        self.subscriptions = FakeSubscriptions(self.pending)
        self.inbox = FakeInbox(self.pending)
        self.notifications = FakeNotifications(self.pending)
        self.post_states = FakePostStates(self.pending)
        self.endpoints = FakeEndpoints(self.pending)
        self.deliveries = FakeDeliveries(self.pending)
        return self

    def commit(self) -> None:
        self.committed.__dict__.update(self.pending.__dict__)

    def rollback(self) -> None:
        self.pending = SubscribeStore()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            super().__exit__(exc_type, exc, traceback)
        finally:
            self.SERIAL.release()


@dataclasses.dataclass
class StoredDelivery:
    """A row of the fake delivery outbox."""

    delivery_id: int
    new: NewDelivery
    created_at: datetime
    next_attempt_at: datetime
    status: Status = Status.PENDING
    attempts: int = 0
    delivered_at: datetime | None = None
    last_error: str | None = None


class FakeEndpoints(subscribe_ports.Endpoints):
    def __init__(self, store: SubscribeStore) -> None:
        self.store = store

    def put(self, endpoint: Endpoint) -> None:
        self.store.endpoints[endpoint.subscriber_id] = endpoint

    def get(self, subscriber_id: int) -> Endpoint | None:
        return self.store.endpoints.get(subscriber_id)

    def remove(self, subscriber_id: int) -> bool:
        return self.store.endpoints.pop(subscriber_id, None) is not None

    def having(self, subscriber_ids: Collection[int]) -> set[int]:
        return set(subscriber_ids) & set(self.store.endpoints)


class FakeDeliveries(subscribe_ports.Deliveries):
    """The delivery outbox in memory; a claim's lease is its next_attempt_at, as in the SQL."""

    def __init__(self, store: SubscribeStore) -> None:
        self.store = store

    def add(self, deliveries: Sequence[NewDelivery], at: datetime) -> None:
        for new in deliveries:
            row = StoredDelivery(len(self.store.deliveries) + 1, new, at, at)
            self.store.deliveries.append(row)

    def claim(
        self,
        now: datetime,
        lease: timedelta,
        limit: int,
        skip_subscribers: Collection[int] = (),
        per_subscriber: int = 1_000_000,
    ) -> list[Delivery]:
        due = sorted(
            (
                row
                for row in self.store.deliveries
                if row.status == Status.PENDING
                and row.next_attempt_at <= now
                and row.new.subscriber_id not in skip_subscribers
            ),
            key=lambda row: row.next_attempt_at,
        )[:limit]
        taken: list[StoredDelivery] = []
        for row in due:
            if (
                sum(1 for t in taken if t.new.subscriber_id == row.new.subscriber_id)
                < per_subscriber
            ):
                row.next_attempt_at = now + lease
                taken.append(row)
        return [
            Delivery(
                row.delivery_id,
                row.new.webhook_id,
                row.new.event_id,
                row.new.subscriber_id,
                row.new.body,
                row.attempts,
                row.created_at,
                self.store.endpoints.get(row.new.subscriber_id),
            )
            for row in taken
        ]

    def settle(self, delivery_id: int, verdict: Verdict, now: datetime) -> None:
        row = self.store.deliveries[delivery_id - 1]
        if row.status != Status.PENDING:
            return
        delivered = verdict.status == Status.DELIVERED
        row.status, row.attempts = verdict.status, row.attempts + 1
        row.next_attempt_at = verdict.next_attempt_at
        row.delivered_at = now if delivered else None
        row.last_error = None if delivered else verdict.error

    def revive(self, now: datetime, subscriber_id: int | None, limit: int) -> int:
        dead = [
            row
            for row in self.store.deliveries
            if row.status == Status.DEAD and subscriber_id in (None, row.new.subscriber_id)
        ][:limit]
        for row in dead:
            row.status, row.attempts, row.created_at, row.next_attempt_at = (
                Status.PENDING, 0, now, now
            )  # fmt: skip
        return len(dead)

    def of_subscriber(
        self, subscriber_id: int, status: Status | None, limit: int
    ) -> list[DeliveryRecord]:
        mine = [
            DeliveryRecord(
                row.new.webhook_id,
                row.new.event_id,
                row.status,
                row.attempts,
                row.created_at,
                row.next_attempt_at,
                row.delivered_at,
                row.last_error,
            )
            for row in self.store.deliveries
            if row.new.subscriber_id == subscriber_id and status in (None, row.status)
        ]
        return mine[::-1][:limit]

    def backlog(self, now: datetime) -> subscribe_ports.Backlog:
        pending = [row for row in self.store.deliveries if row.status == Status.PENDING]
        oldest = min((row.created_at for row in pending), default=now)
        dead = sum(1 for row in self.store.deliveries if row.status == Status.DEAD)
        return subscribe_ports.Backlog(len(pending), (now - oldest).total_seconds(), dead)


class FakeWebhookSender(subscribe_ports.WebhookSender):
    """Answers each send with the next of its outcomes (the last one over and over), notes what
    it was asked to send, and can be made to wait until released."""

    def __init__(self, *outcomes: Outcome) -> None:
        self.outcomes = list(outcomes) or [Outcome.success()]
        self.sent: list[Delivery] = []
        self.closed = False

    async def send(self, delivery: Delivery) -> Outcome:
        self.sent.append(delivery)
        return self.outcomes.pop(0) if len(self.outcomes) > 1 else self.outcomes[0]

    async def close(self) -> None:
        self.closed = True
