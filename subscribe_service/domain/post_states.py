"""A post as far as the subscribe service applied its events: the newest version, the title it
had then, and whether it was deleted. An event counts only if its version is newer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from contract.events import PostDeleted, PostEvent


@dataclass(frozen=True)
class PostState:
    post_id: int
    version: int
    title: str | None  # None after a deletion
    deleted_at: datetime | None = None

    @classmethod
    def after(cls, event: PostEvent) -> PostState:
        """The post's state once the event is applied."""
        if isinstance(event, PostDeleted):
            return cls(event.post_id, event.version, None, event.deleted_at)
        return cls(event.post_id, event.version, event.title)
