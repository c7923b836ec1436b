"""Hypothesis strategies for what the wire contract allows, drawn from its JSON Schema's bounds."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import strategies as st

from contract.events import (
    POST_CREATED,
    POST_UPDATED,
    PostCreated,
    PostDeleted,
    PostEvent,
    PostUpdated,
    payload_schema,
)

FIELDS = payload_schema(POST_CREATED)["properties"]
CHANGE_VERSION = payload_schema(POST_UPDATED)["properties"]["version"]


def ids(field: str) -> st.SearchStrategy[int]:
    bounds = FIELDS[field]
    return st.integers(bounds["minimum"], bounds["maximum"])


def titles() -> st.SearchStrategy[str]:
    bounds = FIELDS["title"]
    # Any Unicode scalar value, 4-byte and NUL alike; lone surrogates are not valid JSON text.
    text = st.characters(exclude_categories=["Cs"])
    return st.text(text, min_size=bounds["minLength"], max_size=bounds["maxLength"])


def moments() -> st.SearchStrategy[datetime]:
    """Instants the pattern's four-digit years allow."""
    return st.datetimes(datetime(1000, 1, 1), datetime(9999, 12, 31, 23, 59, 59, 999999)).map(
        lambda moment: moment.replace(tzinfo=UTC)
    )


def post_created_events() -> st.SearchStrategy[PostCreated]:
    return st.builds(
        PostCreated,
        event_id=st.uuids(),
        post_id=ids("post_id"),
        author_id=ids("author_id"),
        title=titles(),
        created_at=moments(),
        version=st.integers(FIELDS["version"]["minimum"], FIELDS["version"]["maximum"]),
    )


def change_versions() -> st.SearchStrategy[int]:
    return st.integers(CHANGE_VERSION["minimum"], CHANGE_VERSION["maximum"])


def post_events() -> st.SearchStrategy[PostEvent]:
    """Any event a post can raise, within the contract's bounds."""
    common = {"event_id": st.uuids(), "post_id": ids("post_id"), "author_id": ids("author_id")}
    updated = st.builds(
        PostUpdated, **common, title=titles(), version=change_versions(), updated_at=moments()
    )
    deleted = st.builds(PostDeleted, **common, version=change_versions(), deleted_at=moments())
    return st.one_of(post_created_events(), updated, deleted)


def post_created_payloads() -> st.SearchStrategy[dict[str, Any]]:
    """Payloads the schema accepts, as any producer could write them."""
    return post_created_events().map(PostCreated.payload)
