"""What the use cases need from storage and from the outside, as abstract ports."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from types import TracebackType

from subscribe_service.domain.events import PostCreated
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


class UnitOfWork(abc.ABC):
    """One database transaction: rolled back on leaving the block unless committed."""

    subscriptions: Subscriptions
    inbox: Inbox
    notifications: Notifications

    def __enter__(self) -> UnitOfWork:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.rollback()

    @abc.abstractmethod
    def commit(self) -> None: ...

    @abc.abstractmethod
    def rollback(self) -> None:
        """Undoes what was not committed; does nothing after a commit."""


class Notifier(abc.ABC):
    """Delivers notifications to the outside (a webhook, a push service): after the commit, never
    inside the transaction, so a slow or failing receiver cannot hold or undo the database work."""

    @abc.abstractmethod
    def deliver(self, notifications: Sequence[Notification]) -> None: ...
