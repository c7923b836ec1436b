"""The cluster's hosts: a name, an address on the bridge, and the one part each runs. Each part
listens on the port deploy/parts.py gives it, at its host's address."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final

from deploy import parts
from deploy.native.kafka import KafkaNode
from deploy.parts import Health, Part

SUBNET: Final = "10.78.0"
PREFIX_LENGTH: Final = 24
# The bridge's own address, in the machine's namespace: where the tests, the load generator and
# its webhook receiver reach the hosts from, and are reached at.
GATEWAY: Final = f"{SUBNET}.1"
BRIDGE: Final = "outbox-br0"
# The load balancer in front of the post service instances answers where the service would.
LOAD_BALANCER: Final = Part("load-balancer", parts.POST_SERVICE.port, Health.HTTP, "/readyz")


@dataclass(frozen=True)
class Host:
    name: str
    number: int  # the last byte of its address
    part: Part  # what it runs, as deploy/parts.py names it in the single-machine stack

    @property
    def address(self) -> str:
        return f"{SUBNET}.{self.number}"

    @property
    def namespace(self) -> str:
        return f"outbox-{self.name}"

    @property
    def link(self) -> str:
        """The machine's end of the host's cable (an interface name has 15 characters at most)."""
        return f"outbox-v{self.number}"

    @property
    def runs(self) -> Part:
        """Its part under the host's name, at the host's address."""
        return replace(self.part, name=self.name, host=self.address)


def _numbered(part: Part, first: int, count: int) -> tuple[Host, ...]:
    return tuple(Host(f"{part.name}-{i}", first + i - 1, part) for i in range(1, count + 1))


KAFKA_HOSTS: Final = _numbered(parts.KAFKA, 11, 3)
CONNECT_HOSTS: Final = _numbered(parts.CONNECT, 21, 2)
POST_DB: Final = Host(parts.POST_DB.name, 31, parts.POST_DB)
SUBSCRIBE_DB: Final = Host(parts.SUBSCRIBE_DB.name, 32, parts.SUBSCRIBE_DB)
BALANCER: Final = Host(LOAD_BALANCER.name, 40, LOAD_BALANCER)
POST_SERVICE_HOSTS: Final = _numbered(parts.POST_SERVICE, 41, 2)
SUBSCRIBE_API: Final = Host(parts.SUBSCRIBE_API.name, 50, parts.SUBSCRIBE_API)
CONSUMER_HOSTS: Final = _numbered(parts.SUBSCRIBE_CONSUMER, 51, 3)
DISPATCHER_HOSTS: Final = _numbered(parts.SUBSCRIBE_DISPATCHER, 61, 2)
RESTARTER: Final = Host(parts.CONNECTOR_RESTARTER.name, 70, parts.CONNECTOR_RESTARTER)

# In start order, a group at a time: each needs the groups before it.
STORAGE: Final = (POST_DB, SUBSCRIBE_DB, *KAFKA_HOSTS)
SERVICES: Final = (
    *POST_SERVICE_HOSTS,
    SUBSCRIBE_API,
    *CONSUMER_HOSTS,
    *DISPATCHER_HOSTS,
    RESTARTER,
)
HOSTS: Final = (*STORAGE, *CONNECT_HOSTS, *SERVICES, BALANCER)
BY_NAME: Final = {host.name: host for host in HOSTS}

KAFKA_NODES: Final = tuple(KafkaNode(i, host.address) for i, host in enumerate(KAFKA_HOSTS, 1))
BOOTSTRAP_SERVERS: Final = ",".join(node.broker_address for node in KAFKA_NODES)
# The events topic's partitions: at least two per consumer, so a group of three stays balanced
# and one that grows to six still has work for each.
EVENTS_PARTITIONS: Final = 6


def where_services_reach() -> dict[str, str]:
    """What every service process reads to find the databases and Kafka in the cluster."""
    return {
        "KAFKA_BOOTSTRAP_SERVERS": BOOTSTRAP_SERVERS,
        "POST_DB_HOST": POST_DB.address,
        "SUBSCRIBE_DB_HOST": SUBSCRIBE_DB.address,
    }


def own_address(host: Host) -> dict[str, str]:
    """Where a service process listens: its host's address, on the port it has everywhere."""
    variable = {
        parts.POST_SERVICE.name: "POST_HTTP_HOST",
        parts.SUBSCRIBE_API.name: "SUBSCRIBE_HTTP_HOST",
        parts.SUBSCRIBE_CONSUMER.name: "SUBSCRIBE_METRICS_HOST",
        parts.SUBSCRIBE_DISPATCHER.name: "SUBSCRIBE_DISPATCHER_METRICS_HOST",
        parts.CONNECTOR_RESTARTER.name: "RESTARTER_HTTP_HOST",
    }[host.part.name]
    return {variable: host.address}
