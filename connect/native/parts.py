"""The native stack's parts in start order, each with where it listens and a readiness check."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import httpx
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from connect.native import databases, kafka, relay_mode
from connect.native.layout import Layout
from post_service.settings import RelayMode


@dataclass(frozen=True)
class Part:
    program: str
    listens: str
    ready: Callable[[], bool]


def http_ok(url: str) -> Callable[[], bool]:
    def check() -> bool:
        try:
            return httpx.get(url, timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    return check


def kafka_answers() -> bool:
    try:
        AdminClient({"bootstrap.servers": kafka.BOOTSTRAP_SERVERS, "log_level": 0}).list_topics(
            timeout=2
        )
    except KafkaException:
        return False
    return True


def parts(layout: Layout) -> list[Part]:
    def database(server: databases.DatabaseServer) -> Part:
        return Part(
            server.program,
            f"mysql://127.0.0.1:{server.port}/{server.database}",
            lambda: databases.ping(layout, server),
        )

    relay = [
        Part(
            "post-relay", "http://127.0.0.1:8085/metrics", http_ok("http://127.0.0.1:8085/metrics")
        )
    ]
    return [
        database(databases.POST_DB),
        database(databases.SUBSCRIBE_DB),
        Part("kafka", kafka.BOOTSTRAP_SERVERS, kafka_answers),
        Part(
            "connect",
            f"http://127.0.0.1:{kafka.CONNECT_PORT}",
            http_ok(f"http://127.0.0.1:{kafka.CONNECT_PORT}/connector-plugins"),
        ),
        Part("post-service", "http://127.0.0.1:8081", http_ok("http://127.0.0.1:8081/readyz")),
        *(relay if relay_mode.current(layout) == RelayMode.POLLING else []),
        Part("subscribe-api", "http://127.0.0.1:8082", http_ok("http://127.0.0.1:8082/readyz")),
        Part(
            "subscribe-consumer",
            "http://127.0.0.1:8084/metrics",
            http_ok("http://127.0.0.1:8084/metrics"),
        ),
    ]
