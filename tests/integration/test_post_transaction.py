"""The post and its outbox event are one transaction, on the real database and Kafka."""

from __future__ import annotations

import re
from typing import ClassVar

import pytest
from sqlalchemy import Engine, func, select

from contract.events import PostEvent
from deploy.native import databases
from deploy.native.layout import Layout
from post_service.adapters.repository import SqlOutbox, SqlUnitOfWork
from post_service.adapters.tables import post_event_outbox, posts
from post_service.domain.posts import NewPost
from post_service.service.posts import create_post
from subscribe_service.settings import Settings
from tests.random_refs import random_id, random_title
from tests.running_stack import post_db_as_admin, read_topic, topic_end

TOPIC = Settings.model_fields["events_topic"].default
TABLE_MAP = re.compile(r"table_id: (?P<id>\d+) \((?P<table>[^)]+)\)")
ROWS_OF = re.compile(r"table_id: (?P<id>\d+) ")


class OutboxThatFailsAfterWriting(SqlOutbox):
    """Writes the event, then fails as a lost connection would, before the commit."""

    attempted: ClassVar[list[PostEvent]] = []

    def append(self, event: PostEvent) -> None:
        super().append(event)
        self.attempted.append(event)
        raise ConnectionError("lost the database after writing the outbox row")


class FailingUnitOfWork(SqlUnitOfWork):
    def __enter__(self) -> FailingUnitOfWork:
        super().__enter__()
        self.outbox = OutboxThatFailsAfterWriting(self.connection, keep_rows=False)
        return self


def test_a_post_whose_transaction_fails_leaves_no_post_no_outbox_row_and_no_event(
    post_engine: Engine,
) -> None:
    title = random_title("doomed")
    start = topic_end(TOPIC)
    with pytest.raises(ConnectionError):
        create_post(lambda: FailingUnitOfWork(post_engine), NewPost(random_id(), title, "x"))
    (doomed,) = OutboxThatFailsAfterWriting.attempted

    with post_engine.connect() as connection:
        assert connection.scalar(select(func.count()).where(posts.c.title == title)) == 0
        outbox_rows = select(func.count()).where(post_event_outbox.c.id == str(doomed.event_id))
        assert connection.scalar(outbox_rows) == 0

    # A post committed after it reaches Kafka; by then the doomed one would have too.
    survivor = create_post(
        lambda: SqlUnitOfWork(post_engine), NewPost(random_id(), random_title("survivor"), "y")
    )
    survivor_key = str(survivor.post_id).encode()
    keys = {m.key() for m in read_topic(TOPIC, start, until=lambda m: m.key() == survivor_key)}
    assert str(survivor.post_id).encode() in keys
    assert str(doomed.post_id).encode() not in keys


def binlog_since(binlog_file: str, position: int) -> list[list[str]]:
    """The post database's binlog events from a position on, through its newest binlog file:
    each is file, position, type, server id, end position and a description."""
    files = [name for name, *_ in post_db_as_admin("SHOW BINARY LOGS")]
    events = post_db_as_admin(f"SHOW BINLOG EVENTS IN '{binlog_file}' FROM {position}")
    for later in files[files.index(binlog_file) + 1 :]:
        events += post_db_as_admin(f"SHOW BINLOG EVENTS IN '{later}'")
    return events


def transactions(events: list[list[str]]) -> list[list[tuple[str, str]]]:
    """The events' types and descriptions, grouped by transaction: each begins with its GTID.
    MariaDB describes each row change with its statement first (an Annotate_rows event)."""
    grouped: list[list[tuple[str, str]]] = []
    for _, _, kind, _, _, info in events:
        if kind == "Gtid":
            grouped.append([])
        if grouped:
            grouped[-1].append((kind, info))
    return grouped


def row_changes(transaction: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """(table, kind of row event) for each row event of the transaction, in order. A Table_map
    event names the table ("table_id: 33 (db.table)") of the row events after it ("table_id: 33
    flags: ...")."""
    tables: dict[str, str] = {}
    changes = []
    for kind, info in transaction:
        if kind == "Table_map" and (mapped := TABLE_MAP.match(info)):
            tables[mapped["id"]] = mapped["table"]
        elif kind.endswith("_rows_v1") and (rows := ROWS_OF.match(info)):
            changes.append((tables[rows["id"]], kind))
    return changes


@pytest.mark.skipif(
    not Layout.from_env().datadir(databases.POST_DB.part.name).is_dir(),
    reason="no native stack: its binlog is read as the administrator, over the local socket",
)
def test_in_cdc_mode_the_outbox_row_is_deleted_in_the_transaction_that_wrote_it(
    post_engine: Engine,
) -> None:
    ((binlog_file, position, *_),) = post_db_as_admin("SHOW MASTER STATUS")
    event = create_post(lambda: SqlUnitOfWork(post_engine), NewPost(random_id(), "t", "c"))
    with post_engine.connect() as connection:
        row = select(func.count()).where(post_event_outbox.c.id == str(event.event_id))
        assert connection.scalar(row) == 0
        assert connection.scalar(select(posts.c.title).where(posts.c.post_id == event.post_id))

    # The statements MariaDB annotates row events with carry the event id as a value.
    naming_it = [
        transaction
        for transaction in transactions(binlog_since(binlog_file, int(position)))
        if any(str(event.event_id) in info for _, info in transaction)
    ]
    assert [row_changes(transaction) for transaction in naming_it] == [
        [
            ("post_service_db.posts", "Write_rows_v1"),
            ("post_service_db.post_event_outbox", "Write_rows_v1"),
            ("post_service_db.post_event_outbox", "Delete_rows_v1"),
        ]
    ]
