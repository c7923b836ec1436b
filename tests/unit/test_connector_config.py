"""The connector configuration: one template, two flavours that differ only in the class."""

from __future__ import annotations

import json

from connect.connector import TEMPLATE, Flavour, events_topic, render, schema_history_topic
from subscribe_service.settings import Settings


def rendered(flavour: Flavour) -> dict[str, str]:
    return render(
        flavour, database_host="db", database_port=3306, kafka_bootstrap_servers="kafka:9092"
    )


def test_mysql_and_mariadb_configs_differ_only_in_the_connector_class() -> None:
    mysql, mariadb = rendered(Flavour.MYSQL), rendered(Flavour.MARIADB)
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
    template = json.loads(TEMPLATE.read_text())
    secrets = {k: v for k, v in template.items() if "password" in k and not v.startswith("${env:")}
    assert secrets == {}


def test_the_consumer_reads_the_topic_the_event_router_writes() -> None:
    assert Settings.model_fields["events_topic"].default == events_topic("post")


def test_the_event_router_expands_the_payload_and_keys_by_aggregate_id() -> None:
    config = rendered(Flavour.MARIADB)
    assert config["transforms.outbox.table.expand.json.payload"] == "true"
    assert config["transforms.outbox.table.field.event.key"] == "aggregateid"
    assert config["value.converter.schemas.enable"] == "false"
    assert schema_history_topic() == config["schema.history.internal.kafka.topic"]
