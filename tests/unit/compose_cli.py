"""Docker Compose v2, the implementation users run, for checking the compose files without a
Docker engine: deploy/compose.sh builds the pinned version once into .stack/cache/ (about 4
minutes), and `config` resolves the files as users' clients will."""

from __future__ import annotations

import json
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

from tests.running_stack import REPO

COMPOSE_FILE = REPO / "docker-compose.yml"
SERVICES_FILE = REPO / "deploy" / "compose.yml"
ENV_EXAMPLE = REPO / ".env.example"
# Enough for the one build on a 2-core machine; every later call finds the binary at once.
BUILD_TIMEOUT_S = 900
ALL_PROFILES = ("--profile", "polling", "--profile", "ui")


@cache
def _build() -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [REPO / "deploy" / "compose.sh"],
        capture_output=True,
        text=True,
        check=False,
        timeout=BUILD_TIMEOUT_S,
    )


def binary() -> Path:
    """The pinned Compose binary; a failed build fails the test with its own words."""
    built = _build()
    if built.returncode != 0:
        raise AssertionError(
            "deploy/compose.sh could not build Docker Compose, which the compose checks need:\n"
            + built.stderr[-3000:]
        )
    return Path(built.stdout.strip())


def config(
    dot_env: str, scratch: Path, *arguments: str, fmt: str = "json"
) -> subprocess.CompletedProcess[str]:
    """`docker compose config` run at the top of the repository, as a user would, with dot_env as
    the project's .env (in place of any real one) and nothing else from this process."""
    env_file = scratch / "dot.env"
    env_file.write_text(dot_env)
    return subprocess.run(
        [binary(), "--env-file", env_file, *arguments, "config", "--format", fmt],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
        env={"PATH": "/usr/bin:/bin", "HOME": str(scratch)},
    )


def resolved(dot_env: str, scratch: Path) -> dict[str, Any]:
    """The whole model with every profile, as compose hands it to the engine."""
    answer = config(dot_env, scratch, *ALL_PROFILES)
    assert answer.returncode == 0, answer.stderr
    model: dict[str, Any] = json.loads(answer.stdout)
    return model
