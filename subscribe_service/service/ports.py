"""What the use cases need from storage and from the outside, as abstract ports."""

from __future__ import annotations

import abc
from collections.abc import Sequence

import chassis.unit_of_work
from contract.events import PostCreated
from subscribe_service.domain.notifications import Notification


class Subscriptions(abc.ABC):
    @abc.abstractmethod
    def add(self, subscriber_id: int, author_id: int) -> None:
        """Subscribes; subscribing twice is harmless."""

    @abc.abstractmethod
    def remove(self, subscriber_id: int, author_id: int) -> bool:
        """Unsubscribes; False when there was no such subscription."""

    @abc.abstractmethod
    def subscribers_of(self, author_id: int) -> list[int]: ...


class Inbox(abc.ABC):
    """The processed-events table: its primary key makes a second attempt a no-op."""

    @abc.abstractmethod
    def record(self, event: PostCreated) -> bool:
        """True the first time an event id is recorded, False for every later attempt."""


class Notifications(abc.ABC):
    @abc.abstractmethod
    def add(self, notifications: Sequence[Notification]) -> None: ...

    @abc.abstractmethod
    def latest_for(self, subscriber_id: int, limit: int) -> list[Notification]: ...


class UnitOfWork(chassis.unit_of_work.UnitOfWork):
    """One transaction over subscriptions, the inbox and notifications."""

    subscriptions: Subscriptions
    inbox: Inbox
    notifications: Notifications


class Notifier(abc.ABC):
    """Delivers notifications to the outside (a webhook, a push service): after the commit, never
    inside the transaction, so a slow or failing receiver cannot hold or undo the database work."""

    @abc.abstractmethod
    def deliver(self, notifications: Sequence[Notification]) -> None: ...
