"""The outbox connector's configuration, rendered from one template for MySQL and for MariaDB."""

from __future__ import annotations

import json
import re
from enum import StrEnum
from pathlib import Path
from typing import Final

TEMPLATE: Final = Path(__file__).with_name("outbox-connector.json")
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


def render(
    flavour: Flavour, *, database_host: str, database_port: int, kafka_bootstrap_servers: str
) -> dict[str, str]:
    """The connector config for one flavour; the two differ only in the connector class."""
    values = {
        "database_host": database_host,
        "database_port": str(database_port),
        "kafka_bootstrap_servers": kafka_bootstrap_servers,
    }

    def substitute(match: re.Match[str]) -> str:
        return values[match.group(1)]  # a KeyError names a placeholder nobody provides

    config: dict[str, str] = json.loads(_PLACEHOLDER.sub(substitute, TEMPLATE.read_text()))
    return {"connector.class": flavour.connector_class, **config}


def events_topic(aggregate_type: str) -> str:
    """The topic the Event Router sends an aggregate type's events to."""
    template: dict[str, str] = json.loads(TEMPLATE.read_text())
    replacement = template["transforms.outbox.route.topic.replacement"]
    return replacement.replace("${routedByValue}", aggregate_type)


def schema_history_topic() -> str:
    template: dict[str, str] = json.loads(TEMPLATE.read_text())
    return template["schema.history.internal.kafka.topic"]
