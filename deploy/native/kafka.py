"""The native stack's Kafka node and Connect worker: their config files and storage."""

from __future__ import annotations

import base64
import subprocess
import uuid

import structlog

from deploy import parts
from deploy.native.layout import REPO, Layout

log = structlog.get_logger()

# The KRaft controller's listener: inside the node only, so not a part of its own.
CONTROLLER_PORT = 9093
BOOTSTRAP_SERVERS = parts.KAFKA.address


def broker_properties(layout: Layout) -> str:
    shared = (REPO / "connect" / "kafka" / "broker.properties").read_text()
    return shared + "\n".join(
        [
            "# The native stack: one node, broker and controller, on loopback.",
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.voters=1@127.0.0.1:{CONTROLLER_PORT}",
            f"listeners=PLAINTEXT://{BOOTSTRAP_SERVERS},CONTROLLER://127.0.0.1:{CONTROLLER_PORT}",
            f"advertised.listeners=PLAINTEXT://{BOOTSTRAP_SERVERS}",
            "controller.listener.names=CONTROLLER",
            "inter.broker.listener.name=PLAINTEXT",
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            f"log.dirs={layout.kafka_dir / 'data'}",
            "",
        ]
    )


def worker_properties(layout: Layout) -> str:
    shared = (REPO / "connect" / "kafka" / "worker.properties").read_text()
    return shared + "\n".join(
        [
            "# The native stack: on loopback, with the Debezium plugin from the Maven cache.",
            f"bootstrap.servers={BOOTSTRAP_SERVERS}",
            f"listeners={parts.CONNECT.url}",
            "rest.advertised.host.name=127.0.0.1",
            f"plugin.path={layout.plugins}",
            "",
        ]
    )


def prepare(layout: Layout) -> None:
    """Writes both config files and formats the KRaft log directory on the first start."""
    server_properties = layout.kafka_dir / "server.properties"
    server_properties.write_text(broker_properties(layout))
    (layout.connect_dir / "worker.properties").write_text(worker_properties(layout))
    if (layout.kafka_dir / "data" / "meta.properties").exists():
        return
    cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
    log.info("formatting Kafka storage", cluster_id=cluster_id)
    subprocess.run(
        [
            "java",
            "-cp",
            f"{layout.libs}/*",
            "kafka.tools.StorageTool",
            "format",
            "--cluster-id",
            cluster_id,
            "--config",
            str(server_properties),
        ],
        check=True,
        capture_output=True,
    )
