"""Renders the cluster's configuration from the sources the other topologies read:
connect/kafka/*.properties with deploy/cluster/*.properties after them, mysql/conf.d/outbox.cnf,
and a supervisord program per host that runs its part inside the host's network namespace."""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from string import Template

from deploy import parts
from deploy.cluster.topology import (
    BALANCER,
    BOOTSTRAP_SERVERS,
    CONNECT_HOSTS,
    GATEWAY,
    HOSTS,
    KAFKA_HOSTS,
    KAFKA_NODES,
    POST_SERVICE_HOSTS,
    SERVICES,
    Host,
    own_address,
    where_services_reach,
)
from deploy.native.kafka import broker_properties, worker_properties
from deploy.native.layout import REPO, Layout

HERE = Path(__file__).parent
# What the programs read only at their start: a change restarts every program.
READ_AT_START = (
    Path(__file__),
    HERE / "broker.properties",
    HERE / "worker.properties",
    HERE / "nginx.conf",
    REPO / "mysql" / "conf.d" / "outbox.cnf",
    REPO / "connect" / "kafka" / "broker.properties",
    REPO / "connect" / "kafka" / "worker.properties",
)
PYTHON = REPO / ".venv" / "bin" / "python"
JAVA_OPTIONS = f"-XX:+UseG1GC -Dlog4j2.configurationFile={REPO}/connect/kafka/log4j2.yaml"
# Heaps for eleven JVM and Python processes beside each other on one small machine.
KAFKA_HEAP = "-Xms192m -Xmx512m"
CONNECT_HEAP = "-Xms256m -Xmx768m"


def layout() -> Layout:
    """Everything under one git-ignored folder, `.cluster/` unless CLUSTER_DIR says otherwise."""
    return Layout(Path(os.environ.get("CLUSTER_DIR", REPO / ".cluster")).resolve())


def supervisord_conf(cluster: Layout) -> Path:
    return cluster.root / "supervisord.conf"


def kafka_properties(cluster: Layout, host: Host) -> Path:
    return cluster.root / host.name / "server.properties"


def write(cluster: Layout, cache: Layout) -> None:
    """Writes every host's config files and supervisord's; the jars are the native stack's
    (`cache`), resolved once for both."""
    cluster.ensure_dirs()
    for host, node in zip(KAFKA_HOSTS, KAFKA_NODES, strict=True):
        (cluster.root / host.name).mkdir(exist_ok=True)
        properties = broker_properties(
            node, KAFKA_NODES, cluster.root / host.name / "data", _read("broker.properties")
        )
        kafka_properties(cluster, host).write_text(properties)
    for host in CONNECT_HOSTS:
        (cluster.root / host.name).mkdir(exist_ok=True)
        properties = worker_properties(
            BOOTSTRAP_SERVERS, host.address, cache.plugins, _read("worker.properties")
        )
        (cluster.root / host.name / "worker.properties").write_text(properties)
    (cluster.root / "nginx.conf").write_text(nginx_conf(cluster))
    supervisord_conf(cluster).write_text(
        _HEADER.substitute(root=cluster.root, repo=REPO)
        + "".join(_program(cluster, cache, host) for host in HOSTS)
    )


def _read(name: str) -> str:
    return (HERE / name).read_text()


def nginx_conf(cluster: Layout) -> str:
    servers = "\n".join(
        f"        server {host.address}:{host.part.port} max_fails=1 fail_timeout=5s;"
        for host in POST_SERVICE_HOSTS
    )
    return Template(_read("nginx.conf")).substitute(
        run=cluster.run,
        logs=cluster.logs,
        servers=servers,
        address=BALANCER.address,
        port=BALANCER.part.port,
    )


def command(cluster: Layout, cache: Layout, host: Host) -> list[str]:
    """What runs on the host, by the part it runs."""
    libs = f"{cache.libs}/*"
    own = cluster.root / host.name
    match host.part:
        case parts.POST_DB | parts.SUBSCRIBE_DB:
            server_id = 1 if host.part == parts.POST_DB else 2
            return [
                "/usr/sbin/mariadbd",
                f"--defaults-file={REPO}/mysql/conf.d/outbox.cnf",
                f"--server-id={server_id}",
                f"--datadir={cluster.datadir(host.name)}",
                f"--socket={cluster.socket(host.name)}",
                f"--pid-file={cluster.run / host.name}.pid",
                f"--port={host.part.port}",
                f"--bind-address={host.address}",
                "--user=root",
            ]
        case parts.KAFKA:
            return ["java", *KAFKA_HEAP.split(), *JAVA_OPTIONS.split(), "-cp", libs,
                    "kafka.Kafka", str(kafka_properties(cluster, host))]  # fmt: skip
        case parts.CONNECT:
            return ["java", *CONNECT_HEAP.split(), *JAVA_OPTIONS.split(), "-cp", libs,
                    "org.apache.kafka.connect.cli.ConnectDistributed",
                    str(own / "worker.properties")]  # fmt: skip
        case parts.POST_SERVICE:
            return [str(PYTHON), "-m", "post_service"]
        case parts.SUBSCRIBE_API:
            return [str(PYTHON), "-m", "subscribe_service", "api"]
        case parts.SUBSCRIBE_CONSUMER:
            return [str(PYTHON), "-m", "subscribe_service", "consumer"]
        case parts.SUBSCRIBE_DISPATCHER:
            return [str(PYTHON), "-m", "subscribe_service", "dispatcher"]
        case parts.CONNECTOR_RESTARTER:
            return [str(PYTHON), "-m", "connect.restarter"]
        case _ if host == BALANCER:
            return ["/usr/sbin/nginx", "-c", str(cluster.root / "nginx.conf"),
                    "-g", "daemon off;"]  # fmt: skip
    raise ValueError(f"nothing runs on {host.name}")


def environment(host: Host) -> dict[str, str]:
    """A service's own settings: where the others are, and its own address."""
    if host not in SERVICES:
        return {}
    own = own_address(host)
    if host.part == parts.CONNECTOR_RESTARTER:
        own["RESTARTER_CONNECT_URL"] = CONNECT_HOSTS[0].runs.url
    if host.part in {parts.SUBSCRIBE_API, parts.SUBSCRIBE_DISPATCHER}:
        # The load generator's webhook receiver listens at the bridge's own address; the
        # cluster's hosts, on the same private network, may not receive webhooks.
        own["SUBSCRIBE_WEBHOOK_ALLOWED_NETWORKS"] = f"{GATEWAY}/32"
    return {**where_services_reach(), **own}


def priority(host: Host) -> int:
    """supervisord stops the highest first: the load balancer, the services, Connect (which
    leaves its group while Kafka is there), Kafka, and the databases last."""
    if host == BALANCER:
        return 50
    return {parts.POST_DB: 10, parts.SUBSCRIBE_DB: 10, parts.KAFKA: 20, parts.CONNECT: 30}.get(
        host.part, 40
    )


def stop_wait_s(host: Host) -> int:
    """How long a SIGTERM gets before a SIGKILL. The last Kafka node to stop has no quorum left
    to shut down with and would wait out any time given: 15 s, then its logs are recovered at
    the next start."""
    return {parts.POST_DB: 60, parts.SUBSCRIBE_DB: 60, parts.KAFKA: 15}.get(host.part, 30)


def _program(cluster: Layout, cache: Layout, host: Host) -> str:
    inside = ["ip", "netns", "exec", host.namespace, *command(cluster, cache, host)]
    settings = ",".join(f'{key}="{value}"' for key, value in environment(host).items())
    lines = [
        f"\n[program:{host.name}]",
        "command=" + shlex.join(inside).replace("%", "%%"),
        *([f"environment={settings}"] if settings else []),
        f"priority={priority(host)}",
        "autostart=false",
        f"stopwaitsecs={stop_wait_s(host)}",
        "redirect_stderr=true",
        f"stdout_logfile={cluster.logs / host.name}.log",
        "",
    ]
    return "\n".join(lines)


_HEADER = Template("""\
; The cluster topology's processes, one program per host, rendered by deploy/cluster/config.py.
; Each runs inside its host's network namespace; supervisord restarts one that dies unexpectedly.

[unix_http_server]
file=${root}/run/supervisor.sock
chmod=0700

[supervisord]
logfile=${root}/logs/supervisord.log
pidfile=${root}/run/supervisord.pid
childlogdir=${root}/logs
directory=${repo}

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://${root}/run/supervisor.sock
""")
