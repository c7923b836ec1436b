"""The HTTP API's request and response bodies, separate from the tables."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from contract.events import ID_MAX

Id = Annotated[int, Field(gt=0, le=ID_MAX)]


class SubscriptionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subscriber_id: Id
    author_id: Id


class SubscriptionPublic(BaseModel):
    subscriber_id: int
    author_id: int


class NotificationPublic(BaseModel):
    event_id: UUID
    post_id: int
    author_id: int
    title: str
    created_at: datetime = Field(description="When the post was created")
    notified_at: datetime = Field(description="When the notification was committed")
