"""The subscribe service's settings, read from the environment (SUBSCRIBE_*, KAFKA_*)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

import chassis.database
from contract.events import DEAD_LETTER_TOPIC, EVENTS_TOPIC


class DatabaseSettings(chassis.database.DatabaseSettings):
    model_config = SettingsConfigDict(env_prefix="SUBSCRIBE_")

    db_port: int = 3307
    db_name: str = "subscribe_service_db"


class Settings(DatabaseSettings):
    """What the API and the consumer need; the password has no default: it comes from outside."""

    service_db_user: str = "subscribe_service"
    service_db_password: SecretStr
    db_pool_size: int = 8
    http_host: str = "127.0.0.1"
    http_port: int = 8082
    log_level: str = "info"

    kafka_bootstrap_servers: str = Field(
        "127.0.0.1:9092", validation_alias="KAFKA_BOOTSTRAP_SERVERS"
    )
    events_topic: str = EVENTS_TOPIC
    dead_letter_topic: str = DEAD_LETTER_TOPIC
    consumer_group: str = "subscribe-service"
    # Events applied in one database transaction; offsets are committed after it.
    batch_size: int = 500
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 8084


class MigrationSettings(DatabaseSettings):
    """What Alembic needs: a user allowed to change the schema, and only that database's."""

    migrator_db_user: str = "subscribe_migrator"
    migrator_db_password: SecretStr
