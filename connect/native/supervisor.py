"""Talks to supervisord, which runs the native stack's processes."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from connect.native.layout import REPO, Layout

CONFIG = REPO / "connect" / "native" / "supervisord.conf"
BIN = Path(REPO / ".venv" / "bin")


class Supervisor:
    def __init__(self, layout: Layout, environment: dict[str, str]) -> None:
        self.layout = layout
        self.environment = {
            **os.environ,
            **environment,
            "REPO": str(REPO),
            "STACK_DIR": str(layout.root),
        }

    def ctl(self, *args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN / "supervisorctl"), "-c", str(CONFIG), *args],
            env=self.environment,
            capture_output=True,
            text=True,
            check=check,
        )

    def is_running(self) -> bool:
        # supervisorctl exits 4 when it cannot reach supervisord.
        return self.ctl("pid").stdout.strip().isdigit()

    def ensure_running(self) -> None:
        if not self.is_running():
            subprocess.run(
                [str(BIN / "supervisord"), "-c", str(CONFIG)], env=self.environment, check=True
            )

    def state(self, program: str) -> str:
        """RUNNING, STOPPED, STARTING, FATAL, ... as supervisorctl reports it."""
        fields = self.ctl("status", program).stdout.split()
        return fields[1] if len(fields) > 1 else "UNKNOWN"

    def start(self, program: str) -> None:
        if self.state(program) not in {"RUNNING", "STARTING"}:
            self.ctl("start", program)

    def stop(self, program: str) -> None:
        self.ctl("stop", program)

    def shutdown(self) -> None:
        if self.is_running():
            self.ctl("shutdown", check=True)
