"""The subscribe service's settings, read from the environment (SUBSCRIBE_*, KAFKA_*)."""

from __future__ import annotations

from datetime import timedelta
from ipaddress import IPv4Network, IPv6Network
from typing import Annotated, Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode, SettingsConfigDict

import chassis.database
from contract.events import DEAD_LETTER_TOPIC, EVENTS_TOPIC
from subscribe_service.domain.deliveries import RetryPolicy


class DatabaseSettings(chassis.database.DatabaseSettings):
    model_config = SettingsConfigDict(env_prefix="SUBSCRIBE_")

    db_port: int = 3307
    db_name: str = "subscribe_service_db"


class Settings(DatabaseSettings):
    """What the API and the consumer need; the password has no default: it comes from outside."""

    service_db_user: str = "subscribe_service"
    service_db_password: SecretStr
    db_pool_size: int = 8
    # Requests in progress at once; more are answered 503 at once.
    http_max_in_flight: int = 32
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

    # The webhook dispatcher: its metrics, how much it claims, how much it sends at once.
    dispatcher_metrics_host: str = "127.0.0.1"
    dispatcher_metrics_port: int = 8086
    dispatcher_batch_size: int = Field(256, gt=0)
    # How soon a dispatcher looks for due deliveries again once it took all there were: soon
    # after a claim that found some (more are likely on their way), twice as long after each
    # that found none, up to the idle interval (each look is a short transaction).
    dispatcher_busy_poll_interval_s: float = Field(0.01, gt=0)
    dispatcher_poll_interval_s: float = Field(0.1, gt=0)
    dispatcher_max_in_flight: int = Field(256, gt=0)
    dispatcher_max_in_flight_per_endpoint: int = Field(4, gt=0)
    dispatcher_connect_timeout_s: float = Field(5.0, gt=0)
    dispatcher_read_timeout_s: float = Field(15.0, gt=0)
    # The whole attempt, whatever the endpoint trickles; the lease must outlast it, with room for
    # an attempt that waited its turn behind the endpoint's others.
    dispatcher_attempt_timeout_s: float = Field(20.0, gt=0)
    dispatcher_lease_s: float = Field(60.0, gt=0)
    # Webhooks go to public addresses only, and to these networks besides (comma-separated, such
    # as 10.0.5.0/24,127.0.0.2/32): never to the system's own services (on 127.0.0.1 in the
    # native stack, which allows 127.0.0.2 for the receivers), nor to a cloud's metadata service.
    # An allowed address opens every port on it: allow as little as you can.
    webhook_allowed_networks: Annotated[list[IPv4Network | IPv6Network], NoDecode] = Field(
        default_factory=list
    )
    # The retry policy (domain/deliveries.py): dead after this many attempts or hours.
    delivery_max_attempts: int = Field(20, gt=0)
    delivery_max_age_hours: float = Field(24.0, gt=0)
    delivery_backoff_base_s: float = Field(2.0, gt=0)
    delivery_backoff_cap_s: float = Field(7200.0, gt=0)
    delivery_backoff_jitter: float = Field(0.5, ge=0, lt=1)

    @field_validator("webhook_allowed_networks", mode="before")
    @classmethod
    def comma_separated(cls, networks: object) -> object:
        if isinstance(networks, str):
            return [network.strip() for network in networks.split(",") if network.strip()]
        return networks

    @model_validator(mode="after")
    def lease_outlasts_attempts(self) -> Self:
        if self.dispatcher_lease_s < 2 * self.dispatcher_attempt_timeout_s:
            raise ValueError("dispatcher_lease_s must be 2 x dispatcher_attempt_timeout_s or more")
        return self

    @property
    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(
            max_attempts=self.delivery_max_attempts,
            max_age=timedelta(hours=self.delivery_max_age_hours),
            base_s=self.delivery_backoff_base_s,
            cap_s=self.delivery_backoff_cap_s,
            jitter=self.delivery_backoff_jitter,
        )


class MigrationSettings(DatabaseSettings):
    """What Alembic needs: a user allowed to change the schema, and only that database's."""

    migrator_db_user: str = "subscribe_migrator"
    migrator_db_password: SecretStr
