"""Whether a part of the native stack is ready, by the health check deploy/parts.py names."""

from __future__ import annotations

import httpx
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from deploy import parts
from deploy.native import databases, relay_mode
from deploy.native.layout import Layout
from deploy.parts import Health, Part
from post_service.settings import RelayMode


def is_ready(part: Part, layout: Layout) -> bool:
    match part.health:
        case Health.DATABASE:
            return databases.ping(layout, databases.BY_PART[part.name])
        case Health.KAFKA:
            return kafka_answers(part.address)
        case Health.HTTP:
            return http_ok(part.health_url)


def http_ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def kafka_answers(bootstrap_servers: str) -> bool:
    try:
        AdminClient({"bootstrap.servers": bootstrap_servers, "log_level": 0}).list_topics(timeout=2)
    except KafkaException:
        return False
    return True


def listens(part: Part) -> str:
    """Where a reader reaches the part."""
    match part.health:
        case Health.DATABASE:
            return f"mysql://{part.address}/{databases.BY_PART[part.name].database}"
        case Health.KAFKA:
            return part.address
        case Health.HTTP:
            # A process that serves only its metrics is reached there.
            return part.health_url if part.health_path == "/metrics" else part.url


def running_parts(layout: Layout) -> list[Part]:
    """The parts that run in the current relay mode, in start order."""
    polling = relay_mode.current(layout) == RelayMode.POLLING
    return [part for part in parts.PARTS if part != parts.POST_RELAY or polling]


def connector_states(connect_url: str = parts.CONNECT.url) -> dict[str, str]:
    """Each registered connector's state, FAILED when any of its tasks failed."""
    try:
        found = httpx.get(f"{connect_url}/connectors?expand=status", timeout=5).json()
    except httpx.HTTPError:
        return {}
    states = {}
    for name, described in found.items():
        status = described["status"]
        failed = any(task["state"] == "FAILED" for task in status["tasks"])
        states[name] = "FAILED" if failed else status["connector"]["state"]
    return states
