"""The running infrastructure is set up as designed: schema, topics, connector."""

from __future__ import annotations

import os
import re
import subprocess

import httpx
import pymysql
import pytest
from confluent_kafka.admin import AdminClient, ConfigResource

from connect.connector import EVENTS_CONNECTOR, Flavour, events_topic, render, schema_history_topic
from deploy import parts
from deploy.native import databases
from deploy.native.layout import Layout
from deploy.native.secrets import ensure_secrets
from tests.running_stack import CONNECT_URL, KAFKA, REPO, post_db_as_admin


@pytest.mark.parametrize("service", ["post_service", "subscribe_service"])
def test_the_migrated_schema_matches_the_tables_the_code_uses(service: str) -> None:
    check = subprocess.run(
        [REPO / ".venv/bin/alembic", "-c", REPO / service / "alembic.ini", "check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stderr


def test_the_events_topic_has_more_than_one_partition() -> None:
    topic = events_topic("post")
    metadata = AdminClient({"bootstrap.servers": KAFKA}).list_topics(topic, timeout=10)
    assert len(metadata.topics[topic].partitions) > 1


def test_the_schema_history_topic_is_kept_forever_and_never_compacted() -> None:
    resource = ConfigResource("topic", schema_history_topic(EVENTS_CONNECTOR))
    admin = AdminClient({"bootstrap.servers": KAFKA})
    config = admin.describe_configs([resource])[resource].result()
    # Debezium creates it: "forever" is the largest retention there is.
    assert config["retention.ms"].value in {"-1", str(2**63 - 1)}
    assert config["retention.bytes"].value == "-1"
    assert config["cleanup.policy"].value == "delete"


def test_the_connector_runs_the_rendered_mariadb_config() -> None:
    status = httpx.get(f"{CONNECT_URL}/connectors/outbox-connector/status").json()
    assert status["connector"]["state"] == "RUNNING"
    assert [task["state"] for task in status["tasks"]] == ["RUNNING"]
    running = httpx.get(f"{CONNECT_URL}/connectors/outbox-connector/config").json()
    expected = render(
        EVENTS_CONNECTOR,
        Flavour.MARIADB,
        database_host="127.0.0.1",
        database_port=parts.POST_DB.port,
        kafka_bootstrap_servers=KAFKA,
    )
    assert {k: v for k, v in running.items() if k != "name"} == expected


# Each server's service user, and the variable holding its password.
USERS = {parts.POST_DB.name: "post_service", parts.SUBSCRIBE_DB.name: "subscribe_service"}
PASSWORDS = {
    parts.POST_DB.name: "POST_SERVICE_DB_PASSWORD",
    parts.SUBSCRIBE_DB.name: "SUBSCRIBE_SERVICE_DB_PASSWORD",
}


@pytest.mark.parametrize("server", [parts.POST_DB, parts.SUBSCRIBE_DB])
def test_every_database_server_commits_durably(server: parts.Part) -> None:
    with pymysql.connect(
        host=server.host, port=server.port, user=USERS[server.name],
        password=os.environ[PASSWORDS[server.name]],
    ) as connection, connection.cursor() as cursor:  # fmt: skip
        cursor.execute(
            "SELECT @@GLOBAL.sync_binlog, @@GLOBAL.innodb_flush_log_at_trx_commit, @@GLOBAL.log_bin"
        )
        assert cursor.fetchone() == (1, 1, 1)


def test_the_binlog_files_are_small_enough_to_resume_in_within_the_connectors_keep_alive() -> None:
    # Debezium, resuming from a GTID, gets nothing until the server has read the file holding it
    # from its start; at 1 GB, from a cold page cache, that outlasted the 1 s keep-alive, again at
    # every reconnect (docs/reliability.md, "a connector resuming deep into a large binlog file").
    ((size,),) = post_db_as_admin("SELECT @@GLOBAL.max_binlog_size")
    assert int(size) <= 64 * 1024 * 1024
    config = httpx.get(f"{CONNECT_URL}/connectors/{EVENTS_CONNECTOR}/config", timeout=10).json()
    assert config["connect.keep.alive.interval.ms"] == "1000"  # the bound above was measured with


def test_applying_the_users_and_grants_writes_nothing_to_the_binlog() -> None:
    # `make up` applies them at every start; in the binlog they would leave a restarted Debezium
    # skipping real events (docs/reliability.md, "a connector restarted after DDL").
    layout = Layout.from_env()
    ((binlog_file, position, *_),) = post_db_as_admin("SHOW MASTER STATUS")
    databases.apply_users(layout, databases.POST_DB, ensure_secrets(layout))
    logged = post_db_as_admin(f"SHOW BINLOG EVENTS IN '{binlog_file}' FROM {position}")
    statements = [event[-1] for event in logged]
    assert not [s for s in statements if re.search(r"\b(GRANT|CREATE USER|ALTER USER)\b", s)]
