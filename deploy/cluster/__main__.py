"""The cluster topology's commands: `python -m deploy.cluster --help` describes each."""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from confluent_kafka import KafkaException

from connect.register import RegistrationSettings, register
from contract.events import EVENTS_TOPIC
from deploy.cluster import config, network
from deploy.cluster.partitions import events_partitions
from deploy.cluster.topology import (
    BALANCER,
    BOOTSTRAP_SERVERS,
    BY_NAME,
    CONNECT_HOSTS,
    EVENTS_PARTITIONS,
    HOSTS,
    KAFKA_HOSTS,
    POST_DB,
    SERVICES,
    STORAGE,
    SUBSCRIBE_DB,
    Host,
    where_services_reach,
)
from deploy.native import databases, kafka
from deploy.native.health import connector_states, is_ready
from deploy.native.install import ensure_packages, install
from deploy.native.layout import Layout
from deploy.native.secrets import ensure_secrets
from deploy.native.startup import migrate, start_and_wait, wait_ready
from deploy.native.supervisor import Supervisor


def connect_url() -> str:
    """The REST API of the first Connect worker that answers (either serves the whole group)."""
    for host in CONNECT_HOSTS:
        try:
            httpx.get(host.runs.url, timeout=2)
        except httpx.HTTPError:
            continue
        return host.runs.url
    return CONNECT_HOSTS[0].runs.url


def supervisor_of(cluster: Layout, passwords: dict[str, str]) -> Supervisor:
    conf = config.supervisord_conf(cluster)
    return Supervisor(cluster, passwords, conf, (conf, *config.READ_AT_START))


def registration() -> RegistrationSettings:
    return RegistrationSettings(
        connect_url=connect_url(),
        kafka_bootstrap_servers=BOOTSTRAP_SERVERS,
        connector_db_host=POST_DB.address,
        connector_db_port=POST_DB.part.port,
        read_model_db_host=SUBSCRIBE_DB.address,
        read_model_db_port=SUBSCRIBE_DB.part.port,
        events_partitions=EVENTS_PARTITIONS,
    )


def up(cluster: Layout) -> None:
    """Starts whatever is not running, a group at a time, as the native stack does: storage
    (databases, Kafka); Connect, while the migrations run; the connectors; the services; the
    load balancer."""
    started = time.monotonic()
    network.require_root()
    install(Layout.from_env())
    if not shutil.which("nginx"):
        ensure_packages("nginx", ("nginx-light",))
    network.create()
    passwords = ensure_secrets(cluster)
    for server in databases.SERVERS:
        databases.initialize_datadir(cluster, server)
    config.write(cluster, Layout.from_env())
    format_kafka_storage(cluster)
    supervisor = supervisor_of(cluster, passwords)
    supervisor.ensure_running()

    start_and_wait(supervisor, cluster, *(host.runs for host in STORAGE))
    for server in databases.SERVERS:
        databases.apply_users(cluster, server, passwords)
    supervisor.start(*(host.name for host in CONNECT_HOSTS))
    migrate({**passwords, **where_services_reach()})
    start_and_wait(supervisor, cluster, *(host.runs for host in CONNECT_HOSTS))
    os.environ.update(passwords)
    register(registration())
    start_and_wait(supervisor, cluster, *(host.runs for host in SERVICES))
    start_and_wait(supervisor, cluster, BALANCER.runs)
    print_status(cluster, supervisor)
    print(f"cluster up in {time.monotonic() - started:.1f}s")


def format_kafka_storage(cluster: Layout) -> None:
    """Formats each node's log directory once, all with one cluster id."""
    unformatted = [
        host for host in KAFKA_HOSTS
        if not (cluster.root / host.name / "data" / "meta.properties").exists()
    ]  # fmt: skip
    if not unformatted:
        return
    if len(unformatted) < len(KAFKA_HOSTS):
        sys.exit(f"only some Kafka nodes have data: remove {cluster.root} (make cluster-clean)")
    cluster_id = kafka.new_cluster_id()
    for host in unformatted:
        kafka.format_storage(
            Layout.from_env().libs, config.kafka_properties(cluster, host), cluster_id
        )


def down(cluster: Layout) -> None:
    """Stops every process, then removes the hosts' network (data is kept)."""
    if config.supervisord_conf(cluster).exists():
        supervisor_of(cluster, {}).shutdown()
    network.destroy()


def print_status(cluster: Layout, supervisor: Supervisor) -> bool:
    healthy = True
    print(f"{'host':<24} {'address':<12} {'state':<9} {'health':<9} network")
    for host in HOSTS:
        state = supervisor.state(host.name)
        ready = state == "RUNNING" and is_ready(host.runs, cluster)
        connected = network.is_connected(host)
        healthy &= ready and connected
        shown = f"{'ready' if ready else 'NOT READY':<9} {'up' if connected else 'CUT'}"
        print(f"{host.name:<24} {host.address:<12} {state:<9} {shown}")
    url = connect_url()
    states = connector_states(url)
    healthy &= bool(states)
    for name, state in states.items():
        healthy &= state == "RUNNING"
        workers = ", ".join(task_workers(url, name)) or "no task"
        print(f"connector {name:<30} {state:<9} task on {workers}")
    print(replication_summary())
    return healthy


def task_workers(url: str, connector: str) -> list[str]:
    """The hosts whose workers run the connector's tasks."""
    try:
        status = httpx.get(f"{url}/connectors/{connector}/status", timeout=5).json()
    except httpx.HTTPError:
        return []
    return [host_at(task["worker_id"].split(":")[0]) for task in status.get("tasks", [])]


def host_at(address: str) -> str:
    return next((host.name for host in HOSTS if host.address == address), address)


def replication_summary() -> str:
    """The events topic's partitions: leader and in-sync replicas, by node id."""
    try:
        partitions = events_partitions(timeout_s=5)
    except KafkaException as error:
        return f"{EVENTS_TOPIC}: {error}"
    lines = [f"{EVENTS_TOPIC}: partition leader in-sync"]
    for number, partition in sorted(partitions.items()):
        lines.append(f"  {number:>9} {partition.leader:>6} {partition.isrs}")
    return "\n".join(lines)


def kill_and_keep_down(supervisor: Supervisor, host: Host) -> None:
    """Every process on the host SIGKILLed, and left down until `start`. They are frozen first,
    so none of them runs another instruction (no shutdown hook, no goodbye to a group) while its
    supervisor is told not to restart it. Its peers see what a crash shows them: connections
    closed by the host's kernel, then refused. A host that falls silent is `cut`."""
    network.signal_all(host, signal.SIGSTOP)
    stopping = subprocess.Popen(
        [*supervisor_ctl(supervisor), "stop", host.name], stdout=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 10
    while supervisor.state(host.name) not in {"STOPPING", "STOPPED"}:
        if time.monotonic() > deadline:
            network.signal_all(host, signal.SIGCONT)
            raise RuntimeError(f"supervisord did not begin to stop {host.name} within 10 s")
        time.sleep(0.05)
    network.signal_all(host, signal.SIGKILL)
    stopping.wait()


def heal(cluster: Layout, supervisor: Supervisor) -> None:
    """Whatever a fault left behind, undone: every link plugged in, every host's part started,
    and waited for."""
    for host in HOSTS:
        network.reconnect(host)
    start_and_wait(supervisor, cluster, *(host.runs for host in HOSTS))


def supervisor_ctl(supervisor: Supervisor) -> list[str]:
    return [str(Path(sys.executable).with_name("supervisorctl")), "-c", str(supervisor.config)]


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.cluster", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("up", help="create the hosts and start every part on its own, in order")
    commands.add_parser("down", help="stop every process and remove the hosts (data is kept)")
    commands.add_parser("status", help="each host's state, health and link; exits 1 unless all")
    commands.add_parser("heal", help="plug every link in, start every host's part, wait for all")
    verbs = {
        "kill": "SIGKILL every process on the host; its supervisor restarts them",
        "stop": "SIGKILL every process on the host (frozen first) and leave it down",
        "start": "start the host's part again and wait until it is ready",
        "cut": "unplug the host's cable: its processes run on, unreachable",
        "reconnect": "plug the host's cable back in",
    }
    for verb, text in verbs.items():
        command = commands.add_parser(verb, help=text)
        command.add_argument("host", choices=sorted(BY_NAME))
    arguments = parser.parse_args()

    cluster = config.layout()
    if arguments.command == "down":
        down(cluster)
        return 0
    if arguments.command != "up" and not config.supervisord_conf(cluster).exists():
        print("the cluster was never started here (make cluster-up)")
        return 1
    if arguments.command == "up":
        up(cluster)
        return 0
    supervisor = supervisor_of(cluster, ensure_secrets(cluster))
    if not supervisor.is_running():
        print("the cluster is down")
        return 1
    if arguments.command == "status":
        return 0 if print_status(cluster, supervisor) else 1
    if arguments.command == "heal":
        heal(cluster, supervisor)
        return 0
    host = BY_NAME[arguments.host]
    match arguments.command:
        case "kill":
            network.signal_all(host, signal.SIGKILL)
        case "stop":
            kill_and_keep_down(supervisor, host)
        case "start":
            supervisor.start(host.name)
            wait_ready(host.runs, cluster, supervisor)
        case "cut":
            network.cut(host)
        case "reconnect":
            network.reconnect(host)
    return 0


if __name__ == "__main__":
    sys.exit(main())
