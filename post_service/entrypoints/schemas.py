"""The HTTP API's request and response bodies, separate from the tables."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from chassis.api import Id
from contract.events import TITLE_MAX_CHARS
from post_service.domain.posts import CONTENT_MAX_CHARS

Title = Annotated[str, Field(min_length=1, max_length=TITLE_MAX_CHARS)]
Content = Annotated[str, Field(max_length=CONTENT_MAX_CHARS)]


class PostCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"author_id": 1, "title": "Rex Test - 1", "content": "hello"}]
        },
    )

    author_id: Id
    title: Title
    content: Content


class PostCreatedPublic(BaseModel):
    post_id: Id
    event_id: UUID
    author_id: Id
    title: Title
    created_at: datetime


class PostPublic(BaseModel):
    post_id: Id
    author_id: Id
    title: Title
    content: Content
    created_at: datetime
