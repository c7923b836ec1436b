"""The connectors' configuration: one template, two flavours that differ only in the class."""

from __future__ import annotations

import json

import pytest

from connect.connector import (
    EVENTS_CONNECTOR,
    RAW_CONNECTOR,
    TEMPLATE,
    Flavour,
    events_topic,
    raw_topic,
    render,
    schema_history_topic,
)
from subscribe_service.settings import Settings


def rendered(flavour: Flavour, name: str = EVENTS_CONNECTOR) -> dict[str, str]:
    return render(
        name, flavour, database_host="db", database_port=3306, kafka_bootstrap_servers="kafka:9092"
    )


@pytest.mark.parametrize("name", [EVENTS_CONNECTOR, RAW_CONNECTOR])
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
    every = [document["common"], *document["connectors"].values()]
    passwords = [v for config in every for k, v in config.items() if "password" in k]
    assert passwords == ["${env:DEBEZIUM_DB_PASSWORD}"]


def test_the_two_connectors_are_distinct_binlog_clients_with_their_own_history() -> None:
    events, raw = rendered(Flavour.MARIADB), rendered(Flavour.MARIADB, RAW_CONNECTOR)
    for key in ("database.server.id", "topic.prefix", "schema.history.internal.kafka.topic"):
        assert events[key] != raw[key], key
    assert schema_history_topic(EVENTS_CONNECTOR) != schema_history_topic(RAW_CONNECTOR)


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
