"""Installs what the native stack needs and is missing: MariaDB from Debian, jars from Maven."""

from __future__ import annotations

import os
import shutil
import subprocess

import structlog

from deploy.native.layout import REPO, VERSIONS, Layout

log = structlog.get_logger()

MARIADB_PACKAGES = ("mariadb-server", "mariadb-client")


def ensure_mariadb() -> None:
    if shutil.which("mariadbd") or os.path.exists("/usr/sbin/mariadbd"):
        return
    log.info("installing MariaDB from Debian's packages", packages=MARIADB_PACKAGES)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", *MARIADB_PACKAGES], check=True, env=env)
    # The package starts a system-wide server on 3306; the stack runs its own two instead.
    subprocess.run(["service", "mariadb", "stop"], check=False, env=env)


def ensure_jars(layout: Layout) -> None:
    """Resolves Kafka, Kafka Connect and Debezium into the cache, once per set of versions."""
    wanted = "".join(f"{key}={value}\n" for key, value in sorted(VERSIONS.items()))
    if layout.installed_marker.exists() and layout.installed_marker.read_text() == wanted:
        return
    log.info("resolving Kafka and Debezium from Maven Central", cache=str(layout.libs.parent))
    for stale in (layout.libs, layout.plugins):
        shutil.rmtree(stale, ignore_errors=True)
    subprocess.run(
        [
            "mvn",
            "-q",
            "-B",
            "-f",
            str(REPO / "deploy" / "native" / "pom.xml"),
            "package",
            f"-Dkafka.version={VERSIONS['KAFKA_VERSION']}",
            f"-Dscala.version={VERSIONS['SCALA_VERSION']}",
            f"-Ddebezium.version={VERSIONS['DEBEZIUM_VERSION']}",
            f"-Dlog4j.version={VERSIONS['LOG4J_VERSION']}",
            f"-Dstack.libs={layout.libs}",
            f"-Dstack.plugins={layout.plugins}",
        ],
        check=True,
    )
    layout.installed_marker.write_text(wanted)


def install(layout: Layout) -> None:
    layout.ensure_dirs()
    ensure_mariadb()
    ensure_jars(layout)
