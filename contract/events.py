"""The post events as they travel on Kafka: where, with which headers, and what they carry.

A message on the events topic is the one Debezium's Outbox Event Router writes: the aggregate id
(the post id) as the key, the event id in the `id` header, the event type in the `eventType`
header, and the event's JSON payload as the value. The polling and direct relays write the same.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any, ClassVar, Final
from uuid import UUID

AGGREGATE_TYPE: Final = "post"
# The Event Router sends each aggregate type's events to TOPIC_PREFIX + its type.
TOPIC_PREFIX: Final = "outbox.event."
EVENTS_TOPIC: Final = TOPIC_PREFIX + AGGREGATE_TYPE
DEAD_LETTER_TOPIC: Final = EVENTS_TOPIC + ".dlq"
# The Event Router always puts the event id in a header named `id`; the type's header is ours.
EVENT_ID_HEADER: Final = "id"
EVENT_TYPE_HEADER: Final = "eventType"

POST_CREATED: Final = "PostCreated"
POST_UPDATED: Final = "PostUpdated"
POST_DELETED: Final = "PostDeleted"
EVENT_TYPES: Final = (POST_CREATED, POST_UPDATED, POST_DELETED)

SCHEMAS: Final = Path(__file__).with_name("schemas")


@cache
def payload_schema(event_type: str) -> dict[str, Any]:
    """The JSON Schema of an event type's payload, checked in under contract/schemas/."""
    schema: dict[str, Any] = json.loads((SCHEMAS / f"{event_type}.json").read_text())
    return schema


# Bounds both sides keep, read from the schema so that they are written once: what the post
# service accepts, the subscribe database can store.
_POST_CREATED_FIELDS: Final = payload_schema(POST_CREATED)["properties"]
ID_MAX: Final[int] = _POST_CREATED_FIELDS["post_id"]["maximum"]  # a signed BIGINT
VERSION_MAX: Final[int] = _POST_CREATED_FIELDS["version"]["maximum"]  # a signed INT
TITLE_MAX_CHARS: Final[int] = _POST_CREATED_FIELDS["title"]["maxLength"]
# The schema's created_at pattern has four-digit years from 1000: a DATETIME column's range.
EARLIEST: Final = datetime(1000, 1, 1, tzinfo=UTC)
LATEST: Final = datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)


@dataclass(frozen=True)
class PostCreated:
    """What subscribers learn of a new post. Its event_id makes a redelivery recognisable."""

    event_type: ClassVar[str] = POST_CREATED

    event_id: UUID
    post_id: int
    author_id: int
    title: str
    created_at: datetime
    # Each change of a post raises its version by one; a new post is version 1. Subscribers
    # apply an event only if its version is newer than what they applied of that post.
    version: int = 1

    @property
    def aggregate_id(self) -> str:
        """The message key: one post's events stay in order in one partition."""
        return str(self.post_id)

    @property
    def occurred_at(self) -> datetime:
        return self.created_at

    def payload(self) -> dict[str, object]:
        """The message value, as `schemas/PostCreated.json` describes it."""
        return {
            "post_id": self.post_id,
            "author_id": self.author_id,
            "title": self.title,
            "created_at": format_timestamp(self.created_at),
            "version": self.version,
        }


@dataclass(frozen=True)
class PostUpdated:
    """A post's title or content changed: its title as it is now, and its new version."""

    event_type: ClassVar[str] = POST_UPDATED

    event_id: UUID
    post_id: int
    author_id: int
    title: str
    version: int
    updated_at: datetime

    @property
    def aggregate_id(self) -> str:
        return str(self.post_id)

    @property
    def occurred_at(self) -> datetime:
        return self.updated_at

    def payload(self) -> dict[str, object]:
        """The message value, as `schemas/PostUpdated.json` describes it."""
        return {
            "post_id": self.post_id,
            "author_id": self.author_id,
            "title": self.title,
            "version": self.version,
            "updated_at": format_timestamp(self.updated_at),
        }


@dataclass(frozen=True)
class PostDeleted:
    """A post was deleted; its version is the one after its last change."""

    event_type: ClassVar[str] = POST_DELETED

    event_id: UUID
    post_id: int
    author_id: int
    version: int
    deleted_at: datetime

    @property
    def aggregate_id(self) -> str:
        return str(self.post_id)

    @property
    def occurred_at(self) -> datetime:
        return self.deleted_at

    def payload(self) -> dict[str, object]:
        """The message value, as `schemas/PostDeleted.json` describes it."""
        return {
            "post_id": self.post_id,
            "author_id": self.author_id,
            "version": self.version,
            "deleted_at": format_timestamp(self.deleted_at),
        }


# Every event a post raises: one post's events share its key, so they keep their order.
PostEvent = PostCreated | PostUpdated | PostDeleted


def format_timestamp(moment: datetime) -> str:
    """ISO 8601 in UTC with microseconds, as every event and API response carries it."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
