"""Where the native stack keeps its downloads, data, logs and generated files."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Layout:
    """Everything lives under one git-ignored folder, `.stack/` unless STACK_DIR says otherwise."""

    root: Path

    @classmethod
    def from_env(cls) -> Layout:
        return cls(Path(os.environ.get("STACK_DIR", REPO / ".stack")).resolve())

    @property
    def libs(self) -> Path:
        """The Kafka broker and Kafka Connect classpath, resolved by Maven."""
        return self.root / "cache" / "libs"

    @property
    def plugins(self) -> Path:
        """Kafka Connect's plugin.path, holding the Debezium connector."""
        return self.root / "cache" / "plugins"

    @property
    def installed_marker(self) -> Path:
        """Names the versions the cache holds, so a change in versions.env downloads again."""
        return self.root / "cache" / "installed-versions.env"

    @property
    def secrets(self) -> Path:
        return self.root / "secrets.env"

    @property
    def post_settings(self) -> Path:
        """Settings of the post service and its relay that change at run time (the relay mode)."""
        return self.root / "post-service.env"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def run(self) -> Path:
        return self.root / "run"

    @property
    def kafka_dir(self) -> Path:
        return self.root / "kafka"

    @property
    def connect_dir(self) -> Path:
        return self.root / "connect"

    def datadir(self, server: str) -> Path:
        return self.root / server

    def socket(self, server: str) -> Path:
        return self.run / f"{server}.sock"

    def ensure_dirs(self) -> None:
        for path in (self.logs, self.run, self.kafka_dir, self.connect_dir):
            path.mkdir(parents=True, exist_ok=True)


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=value lines; blank lines and # comments are skipped."""
    pairs = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            pairs[key.strip()] = value.strip()
    return pairs


VERSIONS = read_env_file(REPO / "deploy" / "versions.env")
