"""The HTTP API's request and response bodies, separate from the tables."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from contract.events import ID_MAX, TITLE_MAX_CHARS
from post_service.domain.posts import CONTENT_MAX_CHARS

Id = Annotated[int, Field(gt=0, le=ID_MAX)]


class PostCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"author_id": 1, "title": "Rex Test - 1", "content": "hello"}]
        },
    )

    author_id: Id
    title: Annotated[str, Field(min_length=1, max_length=TITLE_MAX_CHARS)]
    content: Annotated[str, Field(max_length=CONTENT_MAX_CHARS)]


class PostCreatedPublic(BaseModel):
    post_id: int
    event_id: UUID
    author_id: int
    title: str
    created_at: datetime


class PostPublic(BaseModel):
    post_id: int
    author_id: int
    title: str
    content: str
    created_at: datetime
