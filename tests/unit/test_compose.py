"""docker-compose.yml, checked without a Docker engine: valid, complete, private, and in step with
the native stack. docker-compose (Debian's package) validates it against the compose schema and
resolves its variables; the services' own settings classes then read what it provides."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic_settings import BaseSettings

from connect.connector import EVENTS_CONNECTOR, RAW_CONNECTOR, Flavour, render
from connect.register import RegistrationSettings
from deploy.native.layout import VERSIONS
from post_service.settings import MigrationSettings as PostMigrationSettings
from post_service.settings import RelaySettings
from post_service.settings import Settings as PostSettings
from subscribe_service.settings import MigrationSettings as SubscribeMigrationSettings
from subscribe_service.settings import Settings as SubscribeSettings
from tests.running_stack import REPO

COMPOSE_FILE = REPO / "docker-compose.yml"
ENV_EXAMPLE = REPO / ".env.example"


def resolve(env_file_text: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    docker_compose = shutil.which("docker-compose")
    assert docker_compose, "docker-compose is missing: apt-get install docker-compose"
    env_file = tmp_path / "compose.env"
    env_file.write_text(env_file_text)
    return subprocess.run(
        [docker_compose, "--env-file", str(env_file), "-f", str(COMPOSE_FILE), "config"],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
        env={"PATH": "/usr/bin:/bin"},  # only the env file speaks, not this process's secrets
    )


@pytest.fixture(scope="module")
def compose(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    env = (REPO / "deploy" / "versions.env").read_text() + ENV_EXAMPLE.read_text()
    resolved = resolve(env, tmp_path_factory.mktemp("compose"))
    assert resolved.returncode == 0, resolved.stderr
    document: dict[str, Any] = yaml.safe_load(resolved.stdout)
    return document


def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose["services"]
    return found


def test_compose_refuses_to_start_without_a_secret(tmp_path: Path) -> None:
    env = (REPO / "deploy" / "versions.env").read_text() + "\n".join(
        line for line in ENV_EXAMPLE.read_text().splitlines() if "DEBEZIUM" not in line
    )
    resolved = resolve(env, tmp_path)
    assert resolved.returncode != 0
    assert "set it in .env" in resolved.stderr


def test_no_password_is_written_in_the_compose_file() -> None:
    raw = yaml.safe_load(COMPOSE_FILE.read_text())
    for name, service in raw["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if "PASSWORD" in key and key != "MYSQL_RANDOM_ROOT_PASSWORD":
                assert re.fullmatch(r"\$\{[A-Z_]+:\?[^}]+\}", str(value)), (name, key)


def test_every_port_is_bound_to_loopback(compose: dict[str, Any]) -> None:
    for name, service in services(compose).items():
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), (name, port)


def test_every_dependency_waits_for_health_or_completion(compose: dict[str, Any]) -> None:
    for name, service in services(compose).items():
        for dependency, wait in (service.get("depends_on") or {}).items():
            condition = wait["condition"]
            assert condition in {"service_healthy", "service_completed_successfully"}, name
            if condition == "service_healthy":
                assert "healthcheck" in services(compose)[dependency], dependency


def test_images_match_the_native_stacks_versions(compose: dict[str, Any]) -> None:
    every = services(compose)
    assert every["post-db"]["image"] == VERSIONS["MYSQL_IMAGE"]
    assert VERSIONS["MYSQL_IMAGE"].startswith("mysql:8.4")
    assert every["kafka"]["image"] == VERSIONS["KAFKA_IMAGE"]
    assert VERSIONS["KAFKA_IMAGE"].endswith(":" + VERSIONS["KAFKA_VERSION"])
    connect_build = every["connect"]["build"]["args"]
    assert connect_build["KAFKA_IMAGE"] == VERSIONS["KAFKA_IMAGE"]
    assert connect_build["DEBEZIUM_VERSION"] == VERSIONS["DEBEZIUM_VERSION"]


@pytest.mark.parametrize(
    ("service", "settings"),
    [
        ("post-service", PostSettings),
        ("post-migrations", PostMigrationSettings),
        ("subscribe-api", SubscribeSettings),
        ("subscribe-consumer", SubscribeSettings),
        ("subscribe-migrations", SubscribeMigrationSettings),
        ("connector-registration", RegistrationSettings),
        ("post-relay", RelaySettings),
    ],
)
def test_every_setting_a_service_reads_is_provided(
    compose: dict[str, Any],
    service: str,
    settings: type[BaseSettings],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in list(os.environ):
        monkeypatch.delenv(name)
    for name, value in services(compose)[service]["environment"].items():
        monkeypatch.setenv(name, str(value))
    loaded = settings().model_dump()
    hosts = {value for key, value in loaded.items() if key.endswith(("db_host", "servers", "url"))}
    assert not any("127.0.0.1" in str(host) for host in hosts), f"{service} points at loopback"


@pytest.mark.parametrize("connector", [EVENTS_CONNECTOR, RAW_CONNECTOR])
def test_connect_gets_the_password_its_connector_config_refers_to(
    compose: dict[str, Any], connector: str
) -> None:
    config = render(
        connector,
        Flavour.MYSQL,
        database_host="post-db",
        database_port=3306,
        kafka_bootstrap_servers="kafka:9092",
    )
    reference = re.fullmatch(r"\$\{env:(?P<variable>[A-Z_]+)\}", config["database.password"])
    assert reference, config["database.password"]
    # The worker resolves the reference from its own environment; the database server created
    # the connector's user with the password of the same name.
    every = services(compose)
    variable = reference["variable"]
    assert every["connect"]["environment"][variable] == every["post-db"]["environment"][variable]
