"""The one-off setup tools the native stack and the cluster run (MariaDB's installer, Kafka's
storage tool): quiet when they succeed, every line they printed when they fail."""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Sequence


class SetupFailed(RuntimeError):
    pass


def run_quietly(command: Sequence[str]) -> None:
    """Runs a setup tool and says nothing of it when it succeeds; when it fails, raises with all
    it printed, both streams in their order. Where a tool tells why is its own choice:
    mariadb-install-db echoes its fatal errors to stdout, Kafka's storage tool writes to stderr."""
    done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if done.returncode != 0:
        raise SetupFailed(f"{shlex.join(command)} exited {done.returncode}:\n{done.stdout}")
