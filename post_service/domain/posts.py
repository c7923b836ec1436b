"""Posts, and the events their changes raise (their shapes are the contract's): a new post raises
PostCreated, an edit PostUpdated, a deletion PostDeleted, each with the post's next version."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Final
from uuid import UUID

from uuid_utils.compat import uuid7

from contract.events import PostCreated, PostDeleted, PostUpdated

CONTENT_MAX_CHARS: Final = 10_000


def new_event_id() -> UUID:
    """A time-ordered id (UUIDv7, RFC 9562): the millisecond of its making, then random bits.
    The keys made of event ids (the outbox's, the posts table's, the consumer's inbox, its
    notifications') then grow at one end of their index, whose recent pages stay in memory.
    Random ids (UUIDv4) land anywhere in it: once an index outgrew the buffer pool, most inserts
    read a page from disk. Within a millisecond, a counter keeps one process's ids in the order
    they were made. (A webhook's id, a hash of the event id and the subscriber, is still random.)"""
    return uuid7()


class NotTheAuthor(Exception):
    """Only a post's author may change it."""

    def __init__(self, post_id: int, author_id: int) -> None:
        super().__init__(
            f"post {post_id} is not by author {author_id}; only its author may change it"
        )


@dataclass(frozen=True)
class NewPost:
    author_id: int
    title: str
    content: str


@dataclass(frozen=True)
class Edit:
    """A change of a post asked for by author_id: a new title, a new content, or both."""

    author_id: int
    title: str | None = None
    content: str | None = None


@dataclass(frozen=True)
class Post:
    post_id: int
    author_id: int
    title: str
    content: str
    created_at: datetime
    # The id of the PostCreated event this post raised (None for posts older than event ids).
    event_id: UUID | None = None
    version: int = 1
    updated_at: datetime | None = None

    def created_event(self) -> PostCreated:
        """The event of this post's creation, with the id the post keeps, and the post as it is
        now: an idempotent replay or a reconcile after edits says the title and the version it
        has, never a later title beside version 1 (the title it was created with is not kept)."""
        assert self.event_id is not None, "a post raises its event when it is created"
        return PostCreated(
            self.event_id, self.post_id, self.author_id, self.title, self.created_at, self.version
        )

    def edited(self, edit: Edit, at: datetime) -> tuple[Post, PostUpdated]:
        """The post after the edit, one version on, and the event that says so."""
        self._check_author(edit.author_id)
        title = self.title if edit.title is None else edit.title
        content = self.content if edit.content is None else edit.content
        edited = replace(
            self, title=title, content=content, version=self.version + 1, updated_at=at
        )
        event = PostUpdated(new_event_id(), self.post_id, self.author_id, title, edited.version, at)
        return edited, event

    def deleted(self, author_id: int, at: datetime) -> PostDeleted:
        """The event of this post's deletion, one version on."""
        self._check_author(author_id)
        return PostDeleted(new_event_id(), self.post_id, self.author_id, self.version + 1, at)

    def _check_author(self, author_id: int) -> None:
        if author_id != self.author_id:
            raise NotTheAuthor(self.post_id, author_id)


def now() -> datetime:
    return datetime.now(UTC)
