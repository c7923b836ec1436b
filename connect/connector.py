"""The Kafka Connect connectors' configurations, rendered from one template for MySQL and MariaDB.

`outbox-connector` runs Debezium's Outbox Event Router: the events topic carries the events
themselves, what happened. `post-state-connector` captures the `posts` table itself, and
`read-model-sink`, Debezium's JDBC sink, applies those changes to a copy of it in the subscribe
database: a replica that says what is. `outbox-raw-connector` (optional, for learning and for the
tutorial's walkthrough) publishes Debezium's raw change events of the outbox table, as the tutorial
shows them.
"""

from __future__ import annotations

import json
import re
from enum import StrEnum
from pathlib import Path
from typing import Final

from contract.events import EVENT_TYPE_HEADER, TOPIC_PREFIX

TEMPLATE: Final = Path(__file__).with_name("connectors.json")
EVENTS_CONNECTOR: Final = "outbox-connector"
RAW_CONNECTOR: Final = "outbox-raw-connector"
STATE_CONNECTOR: Final = "post-state-connector"
READ_MODEL_SINK: Final = "read-model-sink"
# What `make up` and compose register, sources before the sink that reads one of them.
REGISTERED: Final = (EVENTS_CONNECTOR, STATE_CONNECTOR, READ_MODEL_SINK)
OUTBOX_TABLE: Final = "post_service_db.post_event_outbox"
POSTS_TABLE: Final = "post_service_db.posts"
# Our placeholders are lower_snake_case; ${env:...} and ${routedByValue} belong to Kafka Connect
# and Debezium and pass through untouched.
_PLACEHOLDER: Final = re.compile(r"\$\{([a-z_]+)\}")


class Flavour(StrEnum):
    """The database the connector reads: MySQL under docker compose, MariaDB in the native stack."""

    MYSQL = "mysql"
    MARIADB = "mariadb"

    @property
    def connector_class(self) -> str:
        return {
            Flavour.MYSQL: "io.debezium.connector.mysql.MySqlConnector",
            Flavour.MARIADB: "io.debezium.connector.mariadb.MariaDbConnector",
        }[self]

    @property
    def jdbc_scheme(self) -> str:
        """The JDBC URL's scheme; the sink picks its SQL dialect from the server it reaches."""
        return str(self)


# What the template takes from the wire contract (contract/events.py), so it cannot drift.
CONTRACT: Final = {"topic_prefix": TOPIC_PREFIX, "event_type_header": EVENT_TYPE_HEADER}


def is_sink(name: str) -> bool:
    return name in json.loads(TEMPLATE.read_text())["sinks"]


def _template(name: str) -> dict[str, str]:
    """The connector's entries, with the contract's names filled in; `_comment`s left out."""
    document = json.loads(TEMPLATE.read_text())
    if name in document["sinks"]:
        entries = document["sinks"][name]
    else:
        entries = {**document["common"], **document["connectors"][name]}
    return {
        key: _fill(value, CONTRACT, strict=False)
        for key, value in entries.items()
        if not key.startswith("_")
    }


def _fill(value: str, values: dict[str, str], strict: bool = True) -> str:
    def substitute(match: re.Match[str]) -> str:
        if strict:
            return values[match.group(1)]  # a KeyError names a placeholder nobody provides
        return values.get(match.group(1), match.group(0))

    return _PLACEHOLDER.sub(substitute, value)


def render(
    name: str,
    flavour: Flavour,
    *,
    database_host: str,
    database_port: int,
    kafka_bootstrap_servers: str,
    read_model_db_host: str = "",
    read_model_db_port: int = 0,
) -> dict[str, str]:
    """One connector's config for one flavour. The flavours differ only in a source's connector
    class and in the sink's JDBC URL scheme. A sink needs read_model_db_host and _port."""
    values = {
        "database_host": database_host,
        "database_port": str(database_port),
        "kafka_bootstrap_servers": kafka_bootstrap_servers,
        "jdbc_scheme": flavour.jdbc_scheme,
    }
    if read_model_db_host:
        values |= {"read_model_db_host": read_model_db_host}
        values |= {"read_model_db_port": str(read_model_db_port)}
    config = {key: _fill(value, values) for key, value in _template(name).items()}
    if is_sink(name):
        return config
    return {"connector.class": flavour.connector_class, **config}


def events_topic(aggregate_type: str) -> str:
    """The topic the Event Router sends an aggregate type's events to."""
    replacement = _template(EVENTS_CONNECTOR)["transforms.outbox.route.topic.replacement"]
    return replacement.replace("${routedByValue}", aggregate_type)


def raw_topic() -> str:
    """Where the raw connector writes the outbox table's change events: {prefix}.{db}.{table}."""
    return f"{_template(RAW_CONNECTOR)['topic.prefix']}.{OUTBOX_TABLE}"


def state_topic() -> str:
    """Where the posts table's change events go, and what the read model's sink reads."""
    return f"{_template(STATE_CONNECTOR)['topic.prefix']}.{POSTS_TABLE}"


def sink_dead_letter_topic(name: str) -> str:
    """Where a sink sets aside what it cannot convert (Kafka Connect's errors.deadletterqueue)."""
    return _template(name)["errors.deadletterqueue.topic.name"]


def output_topic(name: str) -> str:
    return {
        EVENTS_CONNECTOR: events_topic("post"),
        RAW_CONNECTOR: raw_topic(),
        STATE_CONNECTOR: state_topic(),
    }[name]


def heartbeat_topic(name: str) -> str:
    """Where the connector's heartbeats go: {topic.heartbeat.prefix}.{topic.prefix}."""
    template = _template(name)
    return f"{template['topic.heartbeat.prefix']}.{template['topic.prefix']}"


def schema_history_topic(name: str) -> str:
    return _template(name)["schema.history.internal.kafka.topic"]
