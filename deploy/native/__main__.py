"""The native stack's commands (up, down, status, logs, start, stop, kill, relay-mode, install):
`python -m deploy.native --help` describes each."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

from connect.connector import EVENTS_CONNECTOR
from connect.register import RegistrationSettings, register, set_paused
from deploy import parts
from deploy.native import databases, kafka, relay_mode
from deploy.native.health import connector_states, is_ready, listens, running_parts
from deploy.native.install import install
from deploy.native.layout import Layout
from deploy.native.secrets import ensure_secrets
from deploy.native.startup import kill_and_wait, migrate, start_and_wait, wait_ready
from deploy.native.supervisor import Supervisor
from post_service.settings import RelayMode


def up(layout: Layout) -> None:
    """Starts whatever is not running, each group once the one it needs is ready:
    the databases and Kafka; then Connect, while the migrations run; then the connector;
    then the services (the connector exists before the first post)."""
    started = time.monotonic()
    install(layout)
    passwords = ensure_secrets(layout)
    for server in databases.SERVERS:
        databases.initialize_datadir(layout, server)
    kafka.prepare(layout)
    supervisor = Supervisor(layout, passwords)
    supervisor.ensure_running()

    def start(*programs: str) -> None:
        start_and_wait(supervisor, layout, *(parts.BY_NAME[program] for program in programs))

    start(*(server.part.name for server in databases.SERVERS), parts.KAFKA.name)
    for server in databases.SERVERS:
        databases.apply_users(layout, server, passwords)
    supervisor.start(parts.CONNECT.name)
    migrate(passwords)
    start(parts.CONNECT.name)
    os.environ.update(passwords)
    register(RegistrationSettings(kafka_bootstrap_servers=kafka.BOOTSTRAP_SERVERS))
    mode = relay_mode.current(layout)
    if mode != RelayMode.CDC:
        set_paused(RegistrationSettings(), EVENTS_CONNECTOR, paused=True)
    start(
        parts.POST_SERVICE.name,
        parts.SUBSCRIBE_API.name,
        parts.SUBSCRIBE_CONSUMER.name,
        parts.SUBSCRIBE_DISPATCHER.name,
        parts.CONNECTOR_RESTARTER.name,
    )
    if mode == RelayMode.POLLING:
        start(parts.POST_RELAY.name)
    print_status(layout, supervisor)
    print(f"native stack up in {time.monotonic() - started:.1f}s")


def print_status(layout: Layout, supervisor: Supervisor) -> bool:
    healthy = True
    print(f"{'part':<20} {'state':<10} {'health':<9} listens on")
    for part in running_parts(layout):
        state = supervisor.state(part.name)
        ready = state == "RUNNING" and is_ready(part, layout)
        healthy &= ready
        print(f"{part.name:<20} {state:<10} {'ready' if ready else 'NOT READY':<9} {listens(part)}")
    mode = relay_mode.current(layout)
    for name, state in connector_states().items():
        # The outbox connector pauses while another relay mode runs; any other must run.
        paused = name == EVENTS_CONNECTOR and mode != RelayMode.CDC
        ok = state == ("PAUSED" if paused else "RUNNING")
        healthy &= ok
        print(f"{name:<20} {state:<10} {'ready' if ok else 'NOT READY':<9} a connector")
    return healthy


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.native", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("install", help="install MariaDB and resolve the Kafka/Debezium jars")
    commands.add_parser("up", help="start whatever is not running, in order, and wait until ready")
    commands.add_parser("down", help="stop every process (data is kept in .stack/)")
    commands.add_parser("status", help="each part's state and health; exits 1 unless all are ready")
    logs = commands.add_parser("logs", help="follow the logs of every part, or of the named ones")
    logs.add_argument("programs", nargs="*")
    logs.add_argument("--no-follow", action="store_true")
    mode = commands.add_parser("relay-mode", help="show the relay mode, or switch to another")
    mode.add_argument("mode", nargs="?", choices=[str(m) for m in RelayMode])
    for verb, does in (
        ("start", "start one part and wait until it is ready, e.g. kafka"),
        ("stop", "stop one part, e.g. kafka"),
        ("kill", "SIGKILL one part; returns once supervisord restarted it and it is ready"),
    ):
        command = commands.add_parser(verb, help=does)
        command.add_argument("program")
    arguments = parser.parse_args()

    layout = Layout.from_env()
    supervisor = Supervisor(layout, ensure_secrets(layout) if arguments.command != "down" else {})
    match arguments.command:
        case "install":
            install(layout)
        case "up":
            up(layout)
        case "down":
            supervisor.shutdown()
        case "status":
            if not supervisor.is_running():
                print("native stack is down")
                return 1
            return 0 if print_status(layout, supervisor) else 1
        case "logs":
            names = arguments.programs or [part.name for part in running_parts(layout)]
            files = [str(layout.logs / f"{name}.log") for name in names]
            follow = [] if arguments.no_follow else ["-F"]
            return subprocess.run(["tail", "-n", "40", *follow, *files], check=False).returncode
        case "start":
            supervisor.start(arguments.program)
            wait_ready(parts.BY_NAME[arguments.program], layout, supervisor)
        case "stop":
            supervisor.stop(arguments.program)
        case "kill":
            kill_and_wait(supervisor, layout, parts.BY_NAME[arguments.program])
        case "relay-mode":
            if arguments.mode:
                relay_mode.switch(layout, supervisor, RelayMode(arguments.mode))
                for part in running_parts(layout):
                    if part.name.startswith("post-"):
                        wait_ready(part, layout, supervisor)
            print(f"relay mode: {relay_mode.current(layout)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
