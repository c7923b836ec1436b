"""The HTTP API's request and response bodies, separate from the tables."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.json_schema import SkipJsonSchema

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


def no_default(schema: dict[str, Any]) -> None:
    """A field that may be left out, and has no value then: the schema states no default."""
    schema.pop("default", None)


class PostEdit(BaseModel):
    """A new title, a new content, or both; author_id says who asks (only the author may). A
    field left out stays as it is; null is not a value for either."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"author_id": 1, "title": "Rex Test - 1 (edited)"}],
            "anyOf": [{"required": ["title"]}, {"required": ["content"]}],
        },
    )

    author_id: Id
    title: Title | SkipJsonSchema[None] = Field(None, json_schema_extra=no_default)
    content: Content | SkipJsonSchema[None] = Field(None, json_schema_extra=no_default)

    @field_validator("title", "content", mode="before")
    @classmethod
    def not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("leave the field out to keep it as it is; null is not a value")
        return value

    @model_validator(mode="after")
    def changes_something(self) -> PostEdit:
        if self.title is None and self.content is None:
            raise ValueError("an edit needs a title, a content, or both")
        return self


class PostCreatedPublic(BaseModel):
    post_id: Id
    event_id: UUID
    author_id: Id
    title: Title
    created_at: datetime
    version: int = Field(ge=1, description="1: a new post's")


class PostPublic(BaseModel):
    post_id: Id
    author_id: Id
    title: Title
    content: Content
    created_at: datetime
    version: int = Field(ge=1, description="1 when created, one more at each edit")
    updated_at: datetime | None = Field(description="the last edit's time; null if never edited")
