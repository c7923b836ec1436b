"""The system's parts as the native stack runs them: one table of name, host, port and health
check. `make status`, the tests, the load test and the README read it; under docker compose the
services have the same names (tests/unit/test_compose.py checks that they do)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final


class Health(StrEnum):
    """How a part shows it is ready."""

    DATABASE = "answers mariadb-admin ping"
    KAFKA = "answers a metadata request"
    HTTP = "answers HTTP 200"


@dataclass(frozen=True)
class Part:
    name: str
    port: int
    health: Health
    health_path: str = ""  # Health.HTTP: the path that answers 200 when ready
    host: str = "127.0.0.1"

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    @property
    def health_url(self) -> str:
        return self.url + self.health_path


POST_DB: Final = Part("post-db", 3306, Health.DATABASE)
SUBSCRIBE_DB: Final = Part("subscribe-db", 3307, Health.DATABASE)
KAFKA: Final = Part("kafka", 9092, Health.KAFKA)
CONNECT: Final = Part("connect", 8083, Health.HTTP, "/connector-plugins")
POST_SERVICE: Final = Part("post-service", 8081, Health.HTTP, "/readyz")
# Runs in relay mode `polling` only; it serves its metrics, nothing else.
POST_RELAY: Final = Part("post-relay", 8085, Health.HTTP, "/metrics")
SUBSCRIBE_API: Final = Part("subscribe-api", 8082, Health.HTTP, "/readyz")
# The consumer serves its metrics, nothing else.
SUBSCRIBE_CONSUMER: Final = Part("subscribe-consumer", 8084, Health.HTTP, "/metrics")
# The webhook dispatcher, likewise: its metrics, 200 once it reached its database.
SUBSCRIBE_DISPATCHER: Final = Part("subscribe-dispatcher", 8086, Health.HTTP, "/metrics")
CONNECTOR_RESTARTER: Final = Part("connector-restarter", 8087, Health.HTTP, "/healthz")

# In start order.
PARTS: Final = (
    POST_DB,
    SUBSCRIBE_DB,
    KAFKA,
    CONNECT,
    POST_SERVICE,
    POST_RELAY,
    SUBSCRIBE_API,
    SUBSCRIBE_CONSUMER,
    SUBSCRIBE_DISPATCHER,
    CONNECTOR_RESTARTER,
)
BY_NAME: Final = {part.name: part for part in PARTS}

# Where this machine's webhook receivers listen (`make receiver`, the load test's, the tests'):
# the one private address the native stack lets webhooks go to. Every part above listens on
# 127.0.0.1, which a subscriber's endpoint may not name (domain/webhooks.py, may_receive).
WEBHOOK_RECEIVERS_HOST: Final = "127.0.0.2"
