"""The connectors' configuration: one template, two flavours that differ only in the class."""

from __future__ import annotations

import json

import pytest

from connect.connector import (
    EVENTS_CONNECTOR,
    RAW_CONNECTOR,
    READ_MODEL_SINK,
    REGISTERED,
    STATE_CONNECTOR,
    TEMPLATE,
    Flavour,
    events_topic,
    raw_topic,
    render,
    schema_history_topic,
    state_topic,
)
from subscribe_service.adapters.tables import post_replicas
from subscribe_service.settings import Settings

SOURCES = [EVENTS_CONNECTOR, RAW_CONNECTOR, STATE_CONNECTOR]


def rendered(flavour: Flavour, name: str = EVENTS_CONNECTOR) -> dict[str, str]:
    return render(
        name,
        flavour,
        database_host="db",
        database_port=3306,
        kafka_bootstrap_servers="kafka:9092",
        read_model_db_host="subscribe-db",
        read_model_db_port=3307,
    )


@pytest.mark.parametrize("name", SOURCES)
def test_mysql_and_mariadb_configs_differ_only_in_the_connector_class(name: str) -> None:
    mysql, mariadb = rendered(Flavour.MYSQL, name), rendered(Flavour.MARIADB, name)
    differing = {key for key in mysql.keys() | mariadb.keys() if mysql.get(key) != mariadb.get(key)}
    assert differing == {"connector.class"}
    assert mariadb["connector.class"] == "io.debezium.connector.mariadb.MariaDbConnector"


def test_every_placeholder_is_filled_and_connect_variables_pass_through() -> None:
    config = rendered(Flavour.MARIADB)
    assert config["database.hostname"] == "db"
    assert config["database.port"] == "3306"
    assert config["schema.history.internal.kafka.bootstrap.servers"] == "kafka:9092"
    assert config["database.password"] == "${env:DEBEZIUM_DB_PASSWORD}"
    assert config["transforms.outbox.route.topic.replacement"] == "outbox.event.${routedByValue}"


def test_no_secret_is_written_in_the_template() -> None:
    document = json.loads(TEMPLATE.read_text())
    every = [document["common"], *document["connectors"].values(), *document["sinks"].values()]
    passwords = [v for config in every for k, v in config.items() if "password" in k]
    assert passwords == ["${env:DEBEZIUM_DB_PASSWORD}", "${env:READ_MODEL_SINK_DB_PASSWORD}"]


def test_the_sources_are_distinct_binlog_clients_with_their_own_history() -> None:
    configs = [rendered(Flavour.MARIADB, name) for name in SOURCES]
    for key in ("database.server.id", "topic.prefix", "schema.history.internal.kafka.topic"):
        values = [config[key] for config in configs]
        assert len(set(values)) == len(SOURCES), key
    assert len({schema_history_topic(name) for name in SOURCES}) == len(SOURCES)


def test_the_sink_writes_the_state_connectors_changes_into_the_read_models_table() -> None:
    sink = rendered(Flavour.MARIADB, READ_MODEL_SINK)
    assert sink["topics"] == state_topic() == "post-state.post_service_db.posts"
    assert sink["collection.name.format"] == post_replicas.name
    assert sink["connection.url"] == "jdbc:mariadb://subscribe-db:3307/subscribe_service_db"
    # Upserts and deletes by the key, never a table created or altered behind the migrations.
    assert (sink["insert.mode"], sink["delete.enabled"]) == ("upsert", "true")
    assert sink["primary.key.mode"] == "record_key"
    assert sink["schema.evolution"] == "none"
    assert not any(key.startswith("_") for key in sink)


def test_the_sink_retries_a_lost_connection_long_enough_for_a_restart_and_then_fails() -> None:
    # Retried on the same closed connection, Debezium 3.5's check for the table never succeeds:
    # a bound that ends in FAILED lets connector-restarter replace the task; a million retries
    # kept it RUNNING and writing nothing (CI, the subscribe database restarted mid-load).
    sink = rendered(Flavour.MARIADB, READ_MODEL_SINK)
    assert sink["connection.restart.on.errors"] == "true"
    retrying_s = int(sink["flush.max.retries"]) * int(sink["flush.retry.delay.ms"]) / 1000
    assert 10 <= retrying_s <= 60


def test_the_sink_differs_between_the_flavours_only_in_its_jdbc_scheme() -> None:
    mysql, mariadb = (
        rendered(Flavour.MYSQL, READ_MODEL_SINK),
        rendered(Flavour.MARIADB, READ_MODEL_SINK),
    )
    differing = {key for key in mysql.keys() | mariadb.keys() if mysql.get(key) != mariadb.get(key)}
    assert differing == {"connection.url"}
    # MariaDB refuses MySQL 8's `INSERT ... AS new` upsert: its own scheme picks its own dialect.
    assert mysql["connection.url"].startswith("jdbc:mysql://")


def test_the_state_connector_captures_the_posts_table_with_schemas_and_tombstones() -> None:
    state = rendered(Flavour.MARIADB, STATE_CONNECTOR)
    assert state["table.include.list"] == "post_service_db.posts"
    assert state["value.converter.schemas.enable"] == "true"  # the sink needs the schemas
    assert state["tombstones.on.delete"] == "true"  # compaction can drop a deleted post's key
    assert "transforms" not in state


def test_sources_are_registered_before_the_sink_that_reads_one() -> None:
    assert REGISTERED.index(STATE_CONNECTOR) < REGISTERED.index(READ_MODEL_SINK)


def test_the_consumer_reads_the_topic_the_event_router_writes() -> None:
    assert Settings.model_fields["events_topic"].default == events_topic("post")


def test_the_raw_topic_is_named_as_in_the_tutorial() -> None:
    assert raw_topic() == "post-create-event.post_service_db.post_event_outbox"


def test_the_event_router_expands_the_payload_and_keys_by_aggregate_id() -> None:
    config = rendered(Flavour.MARIADB)
    assert config["transforms.outbox.table.expand.json.payload"] == "true"
    assert config["transforms.outbox.table.field.event.key"] == "aggregateid"
    assert config["value.converter.schemas.enable"] == "false"
    assert "transforms" not in rendered(Flavour.MARIADB, RAW_CONNECTOR)
