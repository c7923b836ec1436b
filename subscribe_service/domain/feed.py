"""A subscriber's feed: the posts they were notified of, as each post is now.

Its source is the read model (`post_replicas`), a copy of the post database's `posts` table kept by
Debezium's JDBC sink: a replica that says what is, where notifications come from events that say
what happened. A post deleted since is no longer in the replica, so not in the feed; a post whose
row has not reached the replica yet is not in it yet."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class FeedEntry:
    post_id: int
    author_id: int
    title: str
    content: str
    created_at: datetime
    version: int
    updated_at: datetime | None
    notified_at: datetime
