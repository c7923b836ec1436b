"""Starting a part and waiting until it is ready: the native stack's and the cluster's."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable

from tenacity import RetryError, Retrying, retry_if_exception_type, stop_after_delay, wait_fixed

from deploy import parts
from deploy.native.health import is_ready
from deploy.native.layout import REPO, Layout
from deploy.native.supervisor import Supervisor
from deploy.parts import Part

# By port, not name: in the cluster the same part runs on several hosts under other names. A
# Kafka node restarted after a SIGKILL recovers its logs first; three of them and two Connect
# workers starting at once on two cores took over a minute.
READY_TIMEOUT_S = {parts.KAFKA.port: 180.0, parts.CONNECT.port: 180.0}
DEFAULT_READY_TIMEOUT_S = 60.0


class NotReady(Exception):
    pass


def poll(check: Callable[[], None], timeout_s: float, gave_up: str) -> None:
    """Calls check every 0.25 s while it raises NotReady; exits with gave_up at the deadline."""
    polling = Retrying(
        stop=stop_after_delay(timeout_s),
        wait=wait_fixed(0.25),
        retry=retry_if_exception_type(NotReady),
    )
    try:
        polling(check)
    except RetryError:
        sys.exit(f"{gave_up} after {timeout_s:.0f}s")


def wait_ready(part: Part, layout: Layout, supervisor: Supervisor) -> None:
    """Polls the part's readiness check until its deadline; gives up at once if it crashed."""
    log_file = layout.logs / f"{part.name}.log"

    def ready() -> None:
        state = supervisor.state(part.name)
        if state in {"FATAL", "EXITED", "STOPPED", "BACKOFF"}:  # crashed while starting
            sys.exit(f"{part.name} is {state}: see {log_file}")
        if not is_ready(part, layout):
            raise NotReady

    timeout_s = READY_TIMEOUT_S.get(part.port, DEFAULT_READY_TIMEOUT_S)
    poll(ready, timeout_s, f"{part.name} was not ready (see {log_file})")


def start_and_wait(supervisor: Supervisor, layout: Layout, *started: Part) -> None:
    """Starts the parts side by side, then waits for each."""
    supervisor.start(*(part.name for part in started))
    for part in started:
        wait_ready(part, layout, supervisor)


def kill_and_wait(supervisor: Supervisor, layout: Layout, part: Part) -> None:
    """SIGKILLs the part, as a crash would, and returns once supervisord has restarted it and
    it is ready again: as `make kill-PART` does under docker compose."""
    killed = supervisor.pids().get(part.name)
    supervisor.kill(part.name)

    def restarted() -> None:
        if supervisor.pids().get(part.name) in {None, killed}:
            raise NotReady

    poll(restarted, DEFAULT_READY_TIMEOUT_S, f"{part.name} was not restarted")
    wait_ready(part, layout, supervisor)


def migrate(environment: dict[str, str]) -> None:
    """Runs both services' Alembic migrations, side by side, as their migrator users."""
    migrations = [
        subprocess.Popen(
            [REPO / ".venv/bin/alembic", "-c", REPO / service / "alembic.ini", "upgrade", "head"],
            env={**os.environ, **environment},
        )
        for service in ("post_service", "subscribe_service")
    ]
    if any(migration.wait() != 0 for migration in migrations):
        sys.exit("a migration failed: see the output above")
