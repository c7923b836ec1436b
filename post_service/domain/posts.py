"""Posts, and the PostCreated event (its shape is the contract's) that a new post raises."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final
from uuid import UUID

from contract.events import PostCreated

CONTENT_MAX_CHARS: Final = 10_000


@dataclass(frozen=True)
class NewPost:
    author_id: int
    title: str
    content: str


@dataclass(frozen=True)
class Post:
    post_id: int
    author_id: int
    title: str
    content: str
    created_at: datetime
    # The id of the PostCreated event this post raised (None for posts older than event ids).
    event_id: UUID | None = None

    def created_event(self) -> PostCreated:
        """The event of this post, with the id the post keeps."""
        assert self.event_id is not None, "a post raises its event when it is created"
        return PostCreated(self.event_id, self.post_id, self.author_id, self.title, self.created_at)


def now() -> datetime:
    return datetime.now(UTC)
