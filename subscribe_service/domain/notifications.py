"""A notification: one subscriber told of one post, at most once per event."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID


@dataclass(frozen=True)
class Notification:
    event_id: UUID
    subscriber_id: int
    post_id: int
    author_id: int
    title: str
    created_at: datetime
    notified_at: datetime | None = None
