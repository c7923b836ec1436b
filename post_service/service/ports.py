"""What the use cases need from storage, as abstract ports the adapters implement."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import chassis.unit_of_work
from contract.events import PostCreated, PostEvent
from post_service.domain.idempotency import EarlierAttempt, IdempotencyKey
from post_service.domain.posts import NewPost, Post


class PostRepository(abc.ABC):
    @abc.abstractmethod
    def add(self, new_post: NewPost) -> Post: ...

    @abc.abstractmethod
    def add_all(self, new_posts: Sequence[NewPost]) -> list[Post]:
        """Several posts at once, in their order; raises BatchRefused if the database refuses
        one of them."""

    @abc.abstractmethod
    def get(self, post_id: int, for_update: bool = False) -> Post | None:
        """The post; for_update locks its row until the transaction ends."""

    @abc.abstractmethod
    def save(self, post: Post) -> None:
        """Writes an edited post's title, content, version and time of the edit."""

    @abc.abstractmethod
    def remove(self, post_id: int) -> None: ...

    @abc.abstractmethod
    def created_since(self, since: datetime, after_post_id: int, limit: int) -> list[Post]:
        """Posts created at or after `since`, in post id order, from after `after_post_id`."""


class Outbox(abc.ABC):
    """Where events wait, in the same transaction as the change that raised them."""

    @abc.abstractmethod
    def append(self, event: PostEvent) -> None: ...

    @abc.abstractmethod
    def append_all(self, events: Sequence[PostEvent]) -> None:
        """Several events at once; raises BatchRefused if the database refuses one of them."""

    @abc.abstractmethod
    def append_again(self, event: PostCreated) -> None:
        """Appends an event that was appended before: a row of it may still be there (the
        polling relay keeps published rows for a while); it is replaced, to be sent again."""


class IdempotencyKeys(abc.ABC):
    """The keys of the requests made, in the same transaction as the posts they made."""

    @abc.abstractmethod
    def claim(self, key: IdempotencyKey) -> EarlierAttempt | None:
        """Takes the key for this transaction; None if no committed attempt had it (an expired
        one is forgotten). Raises AttemptInProgress while another transaction holds it."""

    @abc.abstractmethod
    def complete(self, key: str, post_id: int) -> None:
        """Records the post the claimed key made."""

    @abc.abstractmethod
    def record_all(self, made: Sequence[tuple[IdempotencyKey, int]]) -> None:
        """Stores keys, each with the post it made, none of them claimed before. Raises
        BatchRefused if one is stored already (expired or not) or held by another transaction."""

    @abc.abstractmethod
    def purge_expired(self, limit: int) -> int:
        """Deletes keys older than their lifetime; returns how many."""


class AttemptInProgress(Exception):
    """Another request with the same idempotency key has not finished yet."""


class BatchRefused(Exception):
    """The database refused a statement of several requests for something one of them may be to
    blame for (a key stored or held before, a value it cannot store): the transaction is to be
    rolled back, and each request tried alone."""


class UnitOfWork(chassis.unit_of_work.UnitOfWork):
    """One transaction over the posts, the outbox and the idempotency keys."""

    posts: PostRepository
    outbox: Outbox
    keys: IdempotencyKeys


@dataclass(frozen=True)
class Claimed:
    """A batch of outbox rows: the events read from them, and the rows that cannot be read
    (event id -> why), which can never be published."""

    events: list[PostEvent]
    unreadable: dict[str, str] = field(default_factory=dict)


class PendingEvents(abc.ABC):
    """The outbox rows the polling relay has not published yet."""

    @abc.abstractmethod
    def claim(self, limit: int) -> Claimed:
        """The oldest unpublished rows, held by this transaction until it ends."""

    @abc.abstractmethod
    def set_aside(self, unreadable: dict[str, str]) -> None:
        """Takes rows out of the queue for good, each with its error, for a person to look at."""

    @abc.abstractmethod
    def mark_published(self, event_ids: set[str]) -> None: ...

    @abc.abstractmethod
    def backlog(self) -> tuple[int, float]:
        """How many rows wait to be published, and the age in seconds of the oldest."""

    @abc.abstractmethod
    def purge(self, older_than_s: float) -> int:
        """Deletes published rows older than that; returns how many."""


class RelayUnitOfWork(chassis.unit_of_work.UnitOfWork):
    """One transaction of the polling relay over the outbox."""

    pending: PendingEvents


class Publisher(abc.ABC):
    """Sends events to Kafka and says which ones Kafka acknowledged."""

    @abc.abstractmethod
    def publish(self, events: Sequence[PostEvent], timeout_s: float) -> set[str]:
        """Waits up to timeout_s for Kafka's answers; returns the acknowledged event ids."""

    @abc.abstractmethod
    def close(self) -> None: ...
