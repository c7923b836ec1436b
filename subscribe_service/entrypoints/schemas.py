"""The HTTP API's request and response bodies, separate from the tables."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from chassis.api import Id
from contract.events import TITLE_MAX_CHARS, VERSION_MAX


class SubscriptionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subscriber_id: Id
    author_id: Id


class SubscriptionPublic(BaseModel):
    subscriber_id: Id
    author_id: Id


class FeedEntryPublic(BaseModel):
    post_id: Id
    author_id: Id
    title: Annotated[str, Field(min_length=1, max_length=TITLE_MAX_CHARS)]
    content: str
    version: Annotated[int, Field(ge=1, le=VERSION_MAX)]
    created_at: datetime = Field(description="When the post was created")
    updated_at: datetime | None = Field(description="The last edit's time; null if never edited")
    notified_at: datetime = Field(description="When the subscriber's notification was committed")


class NotificationPublic(BaseModel):
    event_id: UUID
    post_id: Id
    author_id: Id
    title: Annotated[str, Field(min_length=1, max_length=TITLE_MAX_CHARS)]
    created_at: datetime = Field(description="When the post was created")
    notified_at: datetime = Field(description="When the notification was committed")
