"""Each database user can do its job and nothing more, on the real servers."""

from __future__ import annotations

import os

import pymysql
import pytest
from sqlalchemy import Engine, delete

from contract.events import POST_CREATED
from deploy import parts
from post_service.adapters.repository import SqlUnitOfWork, polling_outbox
from post_service.adapters.tables import post_event_outbox
from post_service.domain.posts import NewPost
from post_service.service.posts import create_post
from tests.random_refs import random_id
from tests.running_stack import subscribe_db_as_admin

POST_SERVER, SUBSCRIBE_SERVER = (
    (part.host, part.port) for part in (parts.POST_DB, parts.SUBSCRIBE_DB)
)
WRITES = {"INSERT", "UPDATE", "DELETE"}
# Access denied: to a database, a login (MySQL, MariaDB), a table, an action.
DENIED = (1044, 1045, 1698, 1142, 1227)


def connect(server: tuple[str, int], user: str, password_variable: str) -> pymysql.Connection:
    host, port = server
    return pymysql.connect(
        host=host, port=port, user=user, password=os.environ[password_variable], autocommit=True
    )


def refused(server: tuple[str, int], user: str, password: str, statement: str) -> int:
    """The server's error code when the user runs the statement; fails if the server allows it."""
    with (
        pytest.raises(pymysql.err.MySQLError) as error,
        connect(server, user, password) as connection,
        connection.cursor() as cursor,
    ):
        cursor.execute(statement)
    code: int = error.value.args[0]
    return code


@pytest.mark.parametrize(
    "statement",
    [
        "DROP TABLE post_service_db.posts",
        "CREATE TABLE post_service_db.intruder (id INT)",
        "ALTER TABLE post_service_db.posts ADD COLUMN x INT",
        "SELECT * FROM mysql.user",
        "CREATE USER 'someone'@'%'",
    ],
)
def test_the_post_service_cannot_change_the_schema_or_read_other_data(statement: str) -> None:
    assert refused(POST_SERVER, "post_service", "POST_SERVICE_DB_PASSWORD", statement) in DENIED


def test_the_post_service_cannot_reach_the_subscribe_database() -> None:
    code = refused(SUBSCRIBE_SERVER, "post_service", "POST_SERVICE_DB_PASSWORD", "SELECT 1")
    assert code in DENIED


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO post_service_db.posts (author_id, title, content, created_at)"
        " VALUES (1, 'x', 'x', NOW())",
        "DELETE FROM post_service_db.posts",
        "UPDATE post_service_db.post_event_outbox SET type = 'x'",
        "DROP TABLE post_service_db.post_event_outbox",
    ],
)
def test_the_connector_user_can_write_nothing(statement: str) -> None:
    assert refused(POST_SERVER, "debezium", "DEBEZIUM_DB_PASSWORD", statement) in DENIED


def test_the_connector_user_reads_the_outbox(post_engine: Engine) -> None:
    # A row kept in the outbox, as the polling relay keeps it, for the connector user to read.
    event = create_post(
        lambda: SqlUnitOfWork(post_engine, polling_outbox), NewPost(random_id(), "kept", "")
    )
    event_id = str(event.event_id)
    try:
        with (
            connect(POST_SERVER, "debezium", "DEBEZIUM_DB_PASSWORD") as connection,
            connection.cursor() as cursor,
        ):
            cursor.execute(
                "SELECT aggregateid, type FROM post_service_db.post_event_outbox WHERE id = %s",
                (event_id,),
            )
            assert cursor.fetchall() == ((event.aggregate_id, POST_CREATED),)
    finally:
        with post_engine.begin() as cleanup:
            cleanup.execute(delete(post_event_outbox).where(post_event_outbox.c.id == event_id))


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO post_service_db.post_event_outbox (id, aggregatetype, aggregateid, type,"
        " payload, created_at) VALUES ('x', 'post', '1', 'PostCreated', '{}', NOW())",
        "DROP TABLE post_service_db.post_event_outbox",
    ],
)
def test_the_polling_relay_cannot_insert_or_change_the_schema(statement: str) -> None:
    assert refused(POST_SERVER, "post_relay", "POST_RELAY_DB_PASSWORD", statement) in DENIED


@pytest.mark.parametrize(
    "statement",
    [
        "DROP TABLE subscribe_service_db.notifications",
        "CREATE TABLE subscribe_service_db.intruder (id INT)",
        "SELECT * FROM mysql.user",
    ],
)
def test_the_subscribe_service_cannot_change_the_schema(statement: str) -> None:
    code = refused(
        SUBSCRIBE_SERVER, "subscribe_service", "SUBSCRIBE_SERVICE_DB_PASSWORD", statement
    )
    assert code in DENIED


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT * FROM subscribe_service_db.notifications",
        "INSERT INTO subscribe_service_db.subscriptions (author_id, subscriber_id) VALUES (1, 2)",
        "DROP TABLE subscribe_service_db.post_replicas",
        "ALTER TABLE subscribe_service_db.post_replicas ADD COLUMN x INT",
        "CREATE TABLE subscribe_service_db.intruder (id INT)",
        "SELECT * FROM mysql.user",
    ],
)
def test_the_read_model_sink_touches_nothing_but_its_table(statement: str) -> None:
    code = refused(SUBSCRIBE_SERVER, "read_model_sink", "READ_MODEL_SINK_DB_PASSWORD", statement)
    assert code in DENIED


@pytest.mark.parametrize(
    "statement",
    [
        "DELETE FROM subscribe_service_db.post_replicas WHERE post_id = 0",
        "UPDATE subscribe_service_db.post_replicas SET version = 0 WHERE post_id = 0",
        "INSERT INTO subscribe_service_db.post_replicas (post_id, author_id, title, content,"
        " created_at, version) VALUES (0, 1, 't', 'c', NOW(6), 1)",
    ],
)
def test_the_subscribe_service_reads_the_read_model_and_cannot_write_it(statement: str) -> None:
    with (
        connect(SUBSCRIBE_SERVER, "subscribe_service", "SUBSCRIBE_SERVICE_DB_PASSWORD") as reader,
        reader.cursor() as cursor,
    ):
        cursor.execute("SELECT COUNT(*) FROM subscribe_service_db.post_replicas")
    code = refused(
        SUBSCRIBE_SERVER, "subscribe_service", "SUBSCRIBE_SERVICE_DB_PASSWORD", statement
    )
    assert code in DENIED


def test_every_table_of_the_subscribe_service_but_the_read_model_is_its_to_write() -> None:
    # Its grants are table by table (mysql/subscribe_service_db.sql): a migration's new table
    # needs its own, or the service meets "command denied" on it only when it first writes there.
    tables = subscribe_db_as_admin(
        "SELECT table_name FROM information_schema.tables"
        " WHERE table_schema = 'subscribe_service_db'"
    )
    grants = subscribe_db_as_admin(
        "SELECT table_name, GROUP_CONCAT(privilege_type) FROM information_schema.table_privileges"
        " WHERE grantee = \"'subscribe_service'@'%'\" AND table_schema = 'subscribe_service_db'"
        " GROUP BY table_name"
    )
    writable = {table for table, granted in grants if set(granted.split(",")) >= WRITES}
    assert writable == {table for (table,) in tables} - {"post_replicas", "alembic_version"}


def test_the_read_model_sink_cannot_reach_the_post_database() -> None:
    code = refused(POST_SERVER, "read_model_sink", "READ_MODEL_SINK_DB_PASSWORD", "SELECT 1")
    assert code in DENIED


def test_the_read_model_sink_upserts_and_deletes_rows_of_its_table() -> None:
    post_id = random_id()
    upsert = (
        "INSERT INTO subscribe_service_db.post_replicas"
        " (post_id, author_id, title, content, created_at, version, updated_at)"
        " VALUES (%s, 1, 'a title', 'a body', NOW(6), %s, NULL)"
        " ON DUPLICATE KEY UPDATE version = VALUES(version)"
    )
    with (
        connect(SUBSCRIBE_SERVER, "read_model_sink", "READ_MODEL_SINK_DB_PASSWORD") as connection,
        connection.cursor() as cursor,
    ):
        # In a transaction rolled back: a row of no post must never reach the live read model.
        connection.begin()
        cursor.execute(upsert, (post_id, 1))
        cursor.execute(upsert, (post_id, 2))
        cursor.execute(
            "SELECT version FROM subscribe_service_db.post_replicas WHERE post_id = %s", (post_id,)
        )
        assert cursor.fetchall() == ((2,),)
        cursor.execute(
            "DELETE FROM subscribe_service_db.post_replicas WHERE post_id = %s", (post_id,)
        )
        assert cursor.rowcount == 1
        connection.rollback()
