"""Talks to supervisord, which runs the native stack's processes."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import time
from pathlib import Path

from deploy import parts
from deploy.native.layout import REPO, Layout

CONFIG = REPO / "deploy" / "native" / "supervisord.conf"
# What the programs read only when they start: a change to any of them restarts every program.
READ_AT_START = (
    CONFIG,
    REPO / "mysql" / "conf.d" / "outbox.cnf",
    REPO / "connect" / "kafka" / "broker.properties",
    REPO / "connect" / "kafka" / "worker.properties",
)
BIN = Path(REPO / ".venv" / "bin")


def where_parts_listen() -> dict[str, str]:
    """The ports of deploy/parts.py, as supervisord.conf and the services' settings read them."""
    return {
        "POST_DB_PORT": str(parts.POST_DB.port),
        "SUBSCRIBE_DB_PORT": str(parts.SUBSCRIBE_DB.port),
        "KAFKA_BOOTSTRAP_SERVERS": parts.KAFKA.address,
        "POST_HTTP_PORT": str(parts.POST_SERVICE.port),
        "POST_METRICS_PORT": str(parts.POST_RELAY.port),
        "SUBSCRIBE_HTTP_PORT": str(parts.SUBSCRIBE_API.port),
        "SUBSCRIBE_METRICS_PORT": str(parts.SUBSCRIBE_CONSUMER.port),
        "SUBSCRIBE_DISPATCHER_METRICS_PORT": str(parts.SUBSCRIBE_DISPATCHER.port),
        "RESTARTER_HTTP_PORT": str(parts.CONNECTOR_RESTARTER.port),
        "WEBHOOK_RECEIVERS_HOST": parts.WEBHOOK_RECEIVERS_HOST,
    }


class Supervisor:
    """One supervisord and its programs. The native stack's by default; the cluster topology
    (deploy/cluster) passes its own rendered configuration and what its programs read at start."""

    def __init__(
        self,
        layout: Layout,
        environment: dict[str, str],
        config: Path = CONFIG,
        read_at_start: tuple[Path, ...] = READ_AT_START,
    ) -> None:
        self.layout = layout
        self.config = config
        # What supervisord reads once, at its start: its configuration and the passwords.
        environment = {**environment, **where_parts_listen()}
        configuration = b"".join(path.read_bytes() for path in read_at_start)
        self.fingerprint = hashlib.sha256(
            configuration + json.dumps(environment, sort_keys=True).encode()
        ).hexdigest()
        self.environment = {
            **os.environ,
            **environment,
            "REPO": str(REPO),
            "STACK_DIR": str(layout.root),
        }

    def ctl(self, *args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN / "supervisorctl"), "-c", str(self.config), *args],
            env=self.environment,
            capture_output=True,
            text=True,
            check=check,
        )

    def is_running(self) -> bool:
        # supervisorctl exits 4 when it cannot reach supervisord.
        return self.ctl("pid").stdout.strip().isdigit()

    def ensure_running(self) -> None:
        """Starts supervisord; restarts it, and so every program, if it runs with another
        configuration or other passwords than these (after a pull, say)."""
        started_with = self.layout.run / "supervisord.fingerprint"
        if self.is_running():
            if started_with.exists() and started_with.read_text() == self.fingerprint:
                return
            print("the configuration or the passwords changed: restarting every process")
            self.shutdown()
        subprocess.run(
            [str(BIN / "supervisord"), "-c", str(self.config)], env=self.environment, check=True
        )
        started_with.write_text(self.fingerprint)

    def state(self, program: str) -> str:
        """RUNNING, STOPPED, STARTING, FATAL, ... as supervisorctl reports it."""
        fields = self.ctl("status", program).stdout.split()
        return fields[1] if len(fields) > 1 else "UNKNOWN"

    def pids(self) -> dict[str, int]:
        """supervisord's own pid (as "supervisord") and each running program's, by name."""
        pids = {"supervisord": int(self.ctl("pid").stdout)}
        for line in self.ctl("status").stdout.splitlines():
            # post-db   RUNNING   pid 1234, uptime 0:01:02
            name, state, *rest = line.split()
            if state == "RUNNING" and rest[:1] == ["pid"]:
                pids[name] = int(rest[1].rstrip(","))
        return pids

    def start(self, *programs: str) -> None:
        """Starts those of the programs that are not running, side by side: `supervisorctl
        start a b` would start them one after the other, a second apart."""
        starting = [
            subprocess.Popen(
                [str(BIN / "supervisorctl"), "-c", str(self.config), "start", program],
                env=self.environment,
                stdout=subprocess.DEVNULL,
            )
            for program in programs
            if self.state(program) not in {"RUNNING", "STARTING"}
        ]
        for process in starting:
            process.wait()

    def restart(self, program: str) -> None:
        self.ctl("restart", program, check=True)

    def stop(self, program: str) -> None:
        self.ctl("stop", program)

    def kill(self, program: str) -> None:
        """SIGKILL, as a crash would; supervisord sees an unexpected exit and restarts it."""
        self.ctl("signal", "KILL", program, check=True)

    def shutdown(self, timeout_s: float = 120.0) -> None:
        """Stops every program, then supervisord itself, and returns once it has exited."""
        pid = self.ctl("pid").stdout.strip()
        if not pid.isdigit():
            return
        self.ctl("shutdown", check=True)
        deadline = time.monotonic() + timeout_s
        while _alive(int(pid)):
            if time.monotonic() > deadline:
                raise TimeoutError(f"supervisord (pid {pid}) still running after {timeout_s:.0f}s")
            time.sleep(0.1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
