"""Posts, and the PostCreated event a new post raises."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final
from uuid import UUID

AGGREGATE_TYPE: Final = "post"
POST_CREATED: Final = "PostCreated"
TITLE_MAX_CHARS: Final = 200
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


@dataclass(frozen=True)
class PostCreated:
    """What subscribers learn of a new post. Its event_id makes redelivery recognisable."""

    event_id: UUID
    post_id: int
    author_id: int
    title: str
    created_at: datetime

    @classmethod
    def of(cls, post: Post) -> PostCreated:
        """The event of a post, with the id the post keeps."""
        assert post.event_id is not None, "a post raises its event when it is created"
        return cls(post.event_id, post.post_id, post.author_id, post.title, post.created_at)

    @property
    def aggregate_id(self) -> str:
        return str(self.post_id)

    def payload(self) -> dict[str, object]:
        return {
            "post_id": self.post_id,
            "author_id": self.author_id,
            "title": self.title,
            "created_at": format_timestamp(self.created_at),
        }


def now() -> datetime:
    return datetime.now(UTC)


def format_timestamp(moment: datetime) -> str:
    """ISO 8601 in UTC with microseconds, as every event and API response carries it."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
