"""Kafka nodes and Connect workers run as local processes: their config files and storage. The
native stack runs one of each on loopback; the cluster topology (deploy/cluster) several, each on
a host of its own. Both render connect/kafka/*.properties, shared with docker compose."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import structlog

from deploy import parts
from deploy.native.layout import REPO, Layout
from deploy.native.tools import run_quietly

log = structlog.get_logger()

# The KRaft controller's listener: inside the node only, so not a part of its own.
CONTROLLER_PORT = 9093
BOOTSTRAP_SERVERS = parts.KAFKA.address


@dataclass(frozen=True)
class KafkaNode:
    """One KRaft node, broker and controller, listening on its host's address."""

    node_id: int
    host: str

    @property
    def broker_address(self) -> str:
        return f"{self.host}:{parts.KAFKA.port}"

    @property
    def voter(self) -> str:
        return f"{self.node_id}@{self.host}:{CONTROLLER_PORT}"


NATIVE_NODE = KafkaNode(1, parts.KAFKA.host)


def broker_properties(
    node: KafkaNode, voters: tuple[KafkaNode, ...], data_dir: Path, topology: str
) -> str:
    """The shared settings, then the topology's (its comment lines first), which, being later in
    the file, win over them; then this node's own."""
    shared = (REPO / "connect" / "kafka" / "broker.properties").read_text()
    own = [
        "process.roles=broker,controller",
        f"node.id={node.node_id}",
        f"controller.quorum.voters={','.join(voter.voter for voter in voters)}",
        f"listeners=PLAINTEXT://{node.broker_address},CONTROLLER://{node.host}:{CONTROLLER_PORT}",
        f"advertised.listeners=PLAINTEXT://{node.broker_address}",
        "controller.listener.names=CONTROLLER",
        "inter.broker.listener.name=PLAINTEXT",
        "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        f"log.dirs={data_dir}",
    ]
    return shared + topology + "\n".join(own) + "\n"


def worker_properties(bootstrap_servers: str, host: str, plugins: Path, topology: str) -> str:
    """The shared worker settings, the topology's, then where this worker listens."""
    shared = (REPO / "connect" / "kafka" / "worker.properties").read_text()
    own = [
        f"bootstrap.servers={bootstrap_servers}",
        f"listeners=http://{host}:{parts.CONNECT.port}",
        f"rest.advertised.host.name={host}",
        f"plugin.path={plugins}",
    ]
    return shared + topology + "\n".join(own) + "\n"


def format_storage(libs: Path, server_properties: Path, cluster_id: str) -> None:
    """Formats a node's KRaft log directory, once: every node of a cluster with the same id."""
    log.info("formatting Kafka storage", cluster_id=cluster_id, config=str(server_properties))
    run_quietly(
        [
            "java",
            "-cp",
            f"{libs}/*",
            "kafka.tools.StorageTool",
            "format",
            "--cluster-id",
            cluster_id,
            "--config",
            str(server_properties),
        ]
    )


def new_cluster_id(draw: Callable[[], uuid.UUID] = uuid.uuid4) -> str:
    """A random KRaft cluster id, made as Kafka's own `kafka-storage random-uuid` makes one: 16
    random bytes in unpadded URL-safe base64, drawn again while the text starts with '-'. The
    storage tool's argument parser would take such an id for an option and refuse to format: one
    id in 64, which once failed a fresh machine's `make up`."""
    while True:
        cluster_id = base64.urlsafe_b64encode(draw().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def prepare(layout: Layout) -> None:
    """Writes the native node's and worker's config files and formats the node's log directory
    on the first start."""
    server_properties = layout.kafka_dir / "server.properties"
    data_dir = layout.kafka_dir / "data"
    native = "# The native stack: one node, broker and controller, on loopback.\n"
    server_properties.write_text(broker_properties(NATIVE_NODE, (NATIVE_NODE,), data_dir, native))
    worker = worker_properties(
        BOOTSTRAP_SERVERS,
        parts.CONNECT.host,
        layout.plugins,
        "# The native stack: on loopback, with the Debezium plugin from the Maven cache.\n",
    )
    (layout.connect_dir / "worker.properties").write_text(worker)
    if not (data_dir / "meta.properties").exists():
        format_storage(layout.libs, server_properties, new_cluster_id())
