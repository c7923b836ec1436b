"""What the use cases need from storage and from the outside, as abstract ports."""

from __future__ import annotations

import abc
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import chassis.unit_of_work
from contract.events import PostEvent
from subscribe_service.domain.deliveries import (
    Delivery,
    DeliveryRecord,
    NewDelivery,
    Outcome,
    Status,
    Verdict,
)
from subscribe_service.domain.feed import FeedEntry
from subscribe_service.domain.notifications import Notification
from subscribe_service.domain.post_states import PostState
from subscribe_service.domain.subscriptions import SubscriptionPeriod
from subscribe_service.domain.webhooks import Endpoint


class Subscriptions(abc.ABC):
    """Subscription periods (domain/subscriptions.py): ended ones are kept."""

    @abc.abstractmethod
    def add(self, subscriber_id: int, author_id: int, at: datetime) -> None:
        """Opens a period at `at`; while one is open, subscribing again changes nothing."""

    @abc.abstractmethod
    def remove(self, subscriber_id: int, author_id: int, at: datetime) -> bool:
        """Ends the open period at `at`; False when there was none."""

    @abc.abstractmethod
    def periods_of(
        self, author_ids: Collection[int], since: datetime, until: datetime
    ) -> list[SubscriptionPeriod]:
        """The authors' periods that cover some moment from since to until, both included:
        enough to tell who was subscribed at any of those moments."""


class Inbox(abc.ABC):
    """The processed-events table: its primary key makes a second attempt a no-op."""

    @abc.abstractmethod
    def record(self, events: Sequence[PostEvent]) -> list[PostEvent]:
        """Records the events' ids; returns, in order, those recorded for the first time: an
        id recorded before, or earlier in the same batch, is left out."""


class Notifications(abc.ABC):
    @abc.abstractmethod
    def add(self, notifications: Sequence[Notification]) -> None: ...

    @abc.abstractmethod
    def latest_for(self, subscriber_id: int, limit: int) -> list[Notification]: ...


class PostStates(abc.ABC):
    """The newest version of each post applied: what an event must be newer than to count."""

    @abc.abstractmethod
    def deleted_among(self, post_ids: Collection[int]) -> set[int]:
        """Those of the posts whose deletion was applied."""

    @abc.abstractmethod
    def advance(self, states: Sequence[PostState]) -> None:
        """Takes each post to its state, in order, if the state's version is newer than the one
        applied; an older or equal one changes nothing."""


class Feed(abc.ABC):
    """Reads the read model, which Kafka Connect writes: nothing here writes it."""

    @abc.abstractmethod
    def latest_for(self, subscriber_id: int, limit: int) -> list[FeedEntry]:
        """The posts the subscriber was notified of that the read model holds, newest post
        first."""


class Endpoints(abc.ABC):
    """Each subscriber's webhook endpoint, at most one."""

    @abc.abstractmethod
    def put(self, endpoint: Endpoint) -> None:
        """Registers the endpoint, or replaces the subscriber's one."""

    @abc.abstractmethod
    def get(self, subscriber_id: int) -> Endpoint | None: ...

    @abc.abstractmethod
    def remove(self, subscriber_id: int) -> bool:
        """False when the subscriber had none."""

    @abc.abstractmethod
    def having(self, subscriber_ids: Collection[int]) -> set[int]:
        """Those of the subscribers that have an endpoint."""


@dataclass(frozen=True)
class Backlog:
    """The deliveries not done yet, and the dead."""

    pending: int
    oldest_pending_age_s: float
    dead: int


class Deliveries(abc.ABC):
    """The delivery outbox: rows written with the notifications, claimed by dispatchers."""

    @abc.abstractmethod
    def add(self, deliveries: Sequence[NewDelivery], at: datetime) -> None:
        """Pending, due at once."""

    @abc.abstractmethod
    def claim(
        self,
        now: datetime,
        lease: timedelta,
        limit: int,
        skip_subscribers: Collection[int] = (),
        per_subscriber: int = 1_000_000,
    ) -> list[Delivery]:
        """Due pending deliveries, no other dispatcher's, at most per_subscriber per subscriber
        and none of skip_subscribers; each made due again only after the lease, so that another
        dispatcher takes it if this one never reports back."""

    @abc.abstractmethod
    def settle(self, delivery_id: int, verdict: Verdict, now: datetime) -> None:
        """Records an attempt's verdict: delivered, pending again later, or dead."""

    def settle_all(self, verdicts: Sequence[tuple[int, Verdict]], now: datetime) -> None:
        """Records the verdicts of many attempts (by delivery id), as settle does each."""
        for delivery_id, verdict in verdicts:
            self.settle(delivery_id, verdict, now)

    @abc.abstractmethod
    def revive(self, now: datetime, subscriber_id: int | None, limit: int) -> int:
        """Makes at most `limit` dead deliveries pending again, due now, with their attempts
        counted anew. Returns how many."""

    @abc.abstractmethod
    def of_subscriber(
        self, subscriber_id: int, status: Status | None, limit: int
    ) -> list[DeliveryRecord]:
        """Newest first."""

    @abc.abstractmethod
    def backlog(self, now: datetime) -> Backlog: ...


class UnitOfWork(chassis.unit_of_work.UnitOfWork):
    """One transaction over subscriptions, the inbox, notifications, endpoints and deliveries,
    and the read model's feed."""

    subscriptions: Subscriptions
    inbox: Inbox
    notifications: Notifications
    post_states: PostStates
    feed: Feed
    endpoints: Endpoints
    deliveries: Deliveries


class WebhookSender(abc.ABC):
    """POSTs one delivery to its endpoint, signed; outside any transaction."""

    @abc.abstractmethod
    async def send(self, delivery: Delivery) -> Outcome: ...

    @abc.abstractmethod
    async def close(self) -> None:
        """Releases its connections."""


class Notifier(abc.ABC):
    """Tells the outside of notifications after their commit; the default only logs them. What
    must reach an endpoint does not go this way, which a crash after the commit would lose: it is a
    pending delivery of the same transaction (Deliveries), sent by the dispatcher."""

    @abc.abstractmethod
    def deliver(self, notifications: Sequence[Notification]) -> None: ...
