"""The post service's settings, read from the environment (POST_*)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

import chassis.database
from contract.events import EVENTS_TOPIC


class RelayMode(StrEnum):
    """How events reach Kafka: the tutorial's three versions, side by side."""

    CDC = "cdc"  # V3: Debezium reads the outbox inserts from the binlog (the default)
    POLLING = "polling"  # V2: a relay process polls the outbox table and publishes
    DIRECT = "direct"  # V1: published after the commit, no outbox; lost while Kafka is down


class DatabaseSettings(chassis.database.DatabaseSettings):
    model_config = SettingsConfigDict(env_prefix="POST_", extra="ignore")

    db_port: int = 3306
    db_name: str = "post_service_db"


class Settings(DatabaseSettings):
    """What the running service needs; the password has no default and must come from outside."""

    service_db_user: str = "post_service"
    service_db_password: SecretStr
    db_pool_size: int = 16
    http_host: str = "127.0.0.1"
    http_port: int = 8081
    http_workers: int = 1
    # Requests to /posts in progress at once, per worker; more are answered 503 at once. A new
    # post in progress is a request waiting for its batch, which costs next to nothing; fewer (32,
    # 48, 64) made the machine's passing stalls into 503s and retries a second later: with 64, 800
    # posts/s met thousands of them, with 128 none in 15 s at 800 and at 1,000/s, and under twice
    # the rate sustained the accepted requests' p99 stayed near half a second (docs/benchmarks.md,
    # "The in-flight limit, raised to 128").
    http_max_in_flight: int = 128
    # Group commit of new posts (chassis/group_commit.py, docs/benchmarks.md "Group commit"): how
    # many batches are written at once, how many posts one takes at most (the in-flight limit:
    # all of them), and how long the first waits for company. One committer waiting 10 ms made
    # batches of 5 at 300 posts/s and cost the post service and its database the least CPU.
    create_committers: int = Field(1, ge=1)
    create_max_batch: int = Field(128, ge=1)
    create_linger_ms: float = Field(10.0, ge=0)
    log_level: str = "info"

    relay_mode: RelayMode = RelayMode.CDC
    kafka_bootstrap_servers: str = Field(
        "127.0.0.1:9092", validation_alias="KAFKA_BOOTSTRAP_SERVERS"
    )
    events_topic: str = EVENTS_TOPIC
    # `direct` mode: an event Kafka has not acknowledged within this time is dropped, and lost.
    direct_publish_timeout_ms: int = 5000


class RelaySettings(DatabaseSettings):
    """The polling relay (relay mode `polling`): its own user, allowed to claim and mark rows."""

    relay_db_user: str = "post_relay"
    relay_db_password: SecretStr
    kafka_bootstrap_servers: str = Field(
        "127.0.0.1:9092", validation_alias="KAFKA_BOOTSTRAP_SERVERS"
    )
    events_topic: str = EVENTS_TOPIC
    relay_batch_size: int = 500
    # The tutorial's scheduler ran every second; an empty poll waits this long before the next.
    relay_poll_interval_s: float = 1.0
    # Published rows are deleted once this old; the purge runs every relay_purge_interval_s.
    relay_retention_s: float = 3600.0
    relay_purge_interval_s: float = 60.0
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 8085


class MigrationSettings(DatabaseSettings):
    """What Alembic needs: a user allowed to change the schema, and only that database's."""

    migrator_db_user: str = "post_migrator"
    migrator_db_password: SecretStr
