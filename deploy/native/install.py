"""Installs what the native stack needs and is missing: MariaDB from Debian, jars from Maven."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys

import structlog

from deploy.native.layout import REPO, VERSIONS, Layout

log = structlog.get_logger()

MARIADB_PACKAGES = ("mariadb-server", "mariadb-client")
# Kafka and Connect need Java 17 or newer; Maven resolves their jars and Debezium's.
JAVA_PACKAGES = ("openjdk-17-jdk-headless", "maven")
# The versions the jars in the cache are resolved for: a change to any other line of
# versions.env (the images, say) downloads nothing again.
MAVEN_VERSIONS = ("DEBEZIUM_VERSION", "KAFKA_VERSION", "LOG4J_VERSION", "SCALA_VERSION")


def ensure_packages(what: str, packages: tuple[str, ...]) -> None:
    """Installs Debian's (or Ubuntu's) packages, or says exactly what to install."""
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        sys.exit(f"{what} is missing: install {' '.join(packages)} (e.g. sudo apt-get install ...)")
    log.info(f"installing {what} from the distribution's packages", packages=packages)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", *packages], check=True, env=env)


def java_version() -> int:
    """The major version of the `java` on the PATH, 0 if there is none."""
    if not shutil.which("java"):
        return 0
    shown = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr
    quoted = shown.split('"')[1] if '"' in shown else "0"
    return int(quoted.split(".")[0])


def ensure_java() -> None:
    if java_version() >= 17 and shutil.which("mvn"):
        return
    ensure_packages("Java 17 and Maven", JAVA_PACKAGES)


def ensure_mariadb() -> None:
    if shutil.which("mariadbd") or os.path.exists("/usr/sbin/mariadbd"):
        return
    ensure_packages("MariaDB", MARIADB_PACKAGES)
    # The package starts a system-wide server on 3306; the stack runs its own two instead.
    subprocess.run(["service", "mariadb", "stop"], check=False)


def ensure_jars(layout: Layout) -> None:
    """Resolves Kafka, Kafka Connect and Debezium into the cache, once per set of versions and
    of artifacts (a plugin added to the pom is resolved at the next `make up`)."""
    pom = REPO / "deploy" / "native" / "pom.xml"
    wanted = "".join(f"{key}={VERSIONS[key]}\n" for key in MAVEN_VERSIONS)
    wanted += f"POM_SHA256={hashlib.sha256(pom.read_bytes()).hexdigest()}\n"
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
            str(pom),
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
    ensure_java()
    ensure_jars(layout)
