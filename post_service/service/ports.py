"""What the use cases need from storage, as abstract ports the adapters implement."""

from __future__ import annotations

import abc
from datetime import datetime
from types import TracebackType

from post_service.domain.posts import NewPost, Post, PostCreated


class PostRepository(abc.ABC):
    @abc.abstractmethod
    def add(self, new_post: NewPost) -> Post: ...

    @abc.abstractmethod
    def get(self, post_id: int) -> Post | None: ...

    @abc.abstractmethod
    def created_since(self, since: datetime, after_post_id: int, limit: int) -> list[Post]:
        """Posts created at or after `since`, in post id order, from after `after_post_id`."""


class Outbox(abc.ABC):
    """Where events wait, in the same transaction as the change that raised them."""

    @abc.abstractmethod
    def append(self, event: PostCreated) -> None: ...


class UnitOfWork(abc.ABC):
    """One database transaction: rolled back on leaving the block unless committed."""

    posts: PostRepository
    outbox: Outbox

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
