"""Debezium stores a binlog position only with a record it sends. A connector that has sent none
yet would have no position, and restarted it would snapshot afresh from the binlog's end, past
every post written in between. Its heartbeats store the position whether anything was captured
or not, so that window is a second long, and `make up` waits it out."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import Engine, delete, insert, text

from connect.connector import EVENTS_CONNECTOR
from post_service.adapters.tables import posts
from tests.random_refs import random_id
from tests.running_stack import CONNECT_URL, eventually


def stored_position() -> dict[str, Any]:
    stored = httpx.get(f"{CONNECT_URL}/connectors/{EVENTS_CONNECTOR}/offsets", timeout=10).json()
    (position,) = stored["offsets"]
    offset: dict[str, Any] = position["offset"]
    return offset


def sequence_number(gtid: str) -> int:
    """MariaDB's GTIDs are domain-server-sequence; the post database has one domain."""
    return int(gtid.split("-")[-1])


def test_the_connector_stores_its_position_when_nothing_it_captures_changed(
    post_engine: Engine,
) -> None:
    # A transaction on a table the connector does not capture: the binlog moves, no event goes.
    with post_engine.begin() as connection:
        row = {"author_id": random_id(), "title": "not captured", "content": ""}
        created = connection.execute(insert(posts).values(**row, created_at=datetime.now(UTC)))
        connection.execute(delete(posts).where(posts.c.post_id == created.lastrowid))
    with post_engine.connect() as connection:
        written = sequence_number(connection.scalar(text("SELECT @@gtid_binlog_pos")))

    def stored_past_it() -> dict[str, Any] | None:
        position = stored_position()
        return position if sequence_number(position["gtids"]) >= written else None

    eventually(stored_past_it, timeout_s=15, what="a stored position past the transaction")
