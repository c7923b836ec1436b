"""docker-compose.yml, checked without a Docker engine: Docker Compose v2 itself (the pinned
version, built by deploy/compose.sh) resolves it as users' clients do, and the tests read what it
would hand the engine: valid, complete, private, durable, and in step with the native stack."""

from __future__ import annotations

import configparser
import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic_settings import BaseSettings

from connect.connector import EVENTS_CONNECTOR, RAW_CONNECTOR, REGISTERED, Flavour, render
from connect.register import RegistrationSettings, render_for
from deploy import parts
from deploy.native.layout import VERSIONS
from post_service.settings import MigrationSettings as PostMigrationSettings
from post_service.settings import RelaySettings
from post_service.settings import Settings as PostSettings
from subscribe_service.settings import MigrationSettings as SubscribeMigrationSettings
from subscribe_service.settings import Settings as SubscribeSettings
from tests.running_stack import REPO
from tests.unit.compose_cli import BUILD_TIMEOUT_S, ENV_EXAMPLE, SERVICES_FILE, config, resolved

# The first test to need Docker Compose builds it (once, about 4 minutes).
pytestmark = pytest.mark.timeout(BUILD_TIMEOUT_S)

# One-shot services: they run to completion at each `up`; every other service is a part.
ONE_SHOTS = {"connector-registration", "post-migrations", "subscribe-migrations"}
# Not a part of the system: a web view of it, started on request (`--profile ui`).
TOOLS = {"kafka-ui"}
# Kafka's own log.dir when neither log.dirs nor log.dir is set (ServerLogConfigs): in the container.
KAFKA_DEFAULT_LOG_DIR = "/tmp/kafka-logs"  # noqa: S108 (a path inside the container, not a temp file)
# What the apache/kafka image's launch script (KafkaDockerWrapper) never turns into a property.
KAFKA_NON_PROPERTY_VARIABLES = {
    "KAFKA_VERSION",
    "KAFKA_HEAP_OPTS",
    "KAFKA_LOG4J_OPTS",
    "KAFKA_OPTS",
    "KAFKA_JMX_OPTS",
    "KAFKA_JVM_PERFORMANCE_OPTS",
    "KAFKA_GC_LOG_OPTS",
    "KAFKA_LOG4J_ROOT_LOGLEVEL",
    "KAFKA_LOG4J_LOGGERS",
    "KAFKA_TOOLS_LOG4J_LOGLEVEL",
    "KAFKA_JMX_HOSTNAME",
}


@pytest.fixture(scope="module")
def compose(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return resolved(ENV_EXAMPLE.read_text(), tmp_path_factory.mktemp("compose"))


def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose["services"]
    return found


def test_plain_docker_compose_finds_every_image_and_version_with_only_the_secrets_of_dot_env(
    tmp_path: Path,
) -> None:
    answer = config(ENV_EXAMPLE.read_text(), tmp_path)
    assert answer.returncode == 0, answer.stderr
    model = resolved(ENV_EXAMPLE.read_text(), tmp_path)
    assert services(model)["kafka"]["image"] == VERSIONS["KAFKA_IMAGE"]
    assert (
        services(model)["connect"]["build"]["args"]["DEBEZIUM_VERSION"]
        == (VERSIONS["DEBEZIUM_VERSION"])
    )


def test_make_runs_the_same_compose_command_a_user_types() -> None:
    makefile = (REPO / "Makefile").read_text()
    (command,) = re.findall(r"^COMPOSE := (.*)$", makefile, flags=re.MULTILINE)
    assert command == "docker compose"


def test_compose_refuses_to_start_without_a_secret(tmp_path: Path) -> None:
    without = "\n".join(
        line for line in ENV_EXAMPLE.read_text().splitlines() if "DEBEZIUM" not in line
    )
    answer = config(without, tmp_path)
    assert answer.returncode != 0
    assert "DEBEZIUM_DB_PASSWORD" in answer.stderr
    assert "set it in .env" in answer.stderr


def test_no_password_is_written_in_the_compose_file() -> None:
    raw = yaml.safe_load(SERVICES_FILE.read_text())
    for name, service in raw["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if "PASSWORD" in key and key != "MYSQL_RANDOM_ROOT_PASSWORD":
                assert re.fullmatch(r"\$\{[A-Z_]+:\?[^}]+\}", str(value)), (name, key)


def test_every_part_is_a_service_of_the_same_name_on_the_same_port(
    compose: dict[str, Any],
) -> None:
    every = services(compose)
    assert set(every) == {part.name for part in parts.PARTS} | ONE_SHOTS | TOOLS
    for part in parts.PARTS:
        published = {
            int(port["published"]) for port in every[part.name]["ports"] if port["host_ip"]
        }
        assert published == {part.port}, part.name


def test_every_port_is_bound_to_loopback(compose: dict[str, Any]) -> None:
    for name, service in services(compose).items():
        for port in service.get("ports", []):
            assert port["host_ip"] == "127.0.0.1", (name, port)


def test_every_dependency_waits_for_health_or_completion(compose: dict[str, Any]) -> None:
    for name, service in services(compose).items():
        for dependency, wait in (service.get("depends_on") or {}).items():
            condition = wait["condition"]
            assert condition in {"service_healthy", "service_completed_successfully"}, name
            if condition == "service_healthy":
                assert "healthcheck" in services(compose)[dependency], dependency


def test_the_connector_is_registered_once_the_table_it_captures_exists(
    compose: dict[str, Any],
) -> None:
    waits_for = services(compose)["connector-registration"]["depends_on"]
    assert waits_for.get("post-migrations", {}).get("condition") == (
        "service_completed_successfully"
    )


def test_a_health_check_counts_failures_only_after_the_part_could_have_started(
    compose: dict[str, Any],
) -> None:
    # A database's first start initializes its data directory before it listens at all.
    for name, service in services(compose).items():
        if "healthcheck" in service:
            assert service["healthcheck"].get("start_period"), name


def test_every_part_comes_back_after_a_crash(compose: dict[str, Any]) -> None:
    # init: the part's processes can be killed from inside (make kill-PART) while docker-init,
    # PID 1, survives to exit 137; the engine then restarts the container. unless-stopped: and
    # keeps it stopped after `make stop-PART` (a manual stop).
    for part in parts.PARTS:
        service = services(compose)[part.name]
        assert service.get("init") is True, part.name
        assert service["restart"] == "unless-stopped", part.name


def seconds(duration: str) -> int:
    """A duration as compose prints it (Go's form: 1m0s, 15s) in seconds."""
    match = re.fullmatch(r"(?:(\d+)m)?(?:(\d+)s)?", duration)
    assert match, duration
    return int(match[1] or 0) * 60 + int(match[2] or 0)


def test_every_part_has_as_long_to_stop_as_supervisord_gives_it(compose: dict[str, Any]) -> None:
    # Compose's default is 10 s, then SIGKILL: too short for a database to shut down cleanly.
    supervisord = configparser.RawConfigParser()
    supervisord.read(REPO / "deploy" / "native" / "supervisord.conf")
    for part in parts.PARTS:
        stop_wait = supervisord.getint(f"program:{part.name}", "stopwaitsecs")
        grace = services(compose)[part.name].get("stop_grace_period", "10s")
        assert seconds(grace) == stop_wait, part.name


def broker_properties(kafka: dict[str, Any]) -> dict[str, str]:
    """Kafka's effective settings as the apache/kafka image's launch script builds them: the
    mounted server.properties, then one line per KAFKA_* variable appended, later lines winning."""
    (mounted,) = (v for v in kafka["volumes"] if v["target"].startswith("/mnt/shared/config/"))
    assert mounted["target"] == "/mnt/shared/config/server.properties"
    properties = {}
    for line in Path(mounted["source"]).read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            properties[key.strip()] = value.strip()
    for variable, value in kafka["environment"].items():
        if variable.startswith("KAFKA_") and variable not in KAFKA_NON_PROPERTY_VARIABLES:
            key = variable.removeprefix("KAFKA_").lower().replace("_", ".")
            properties[key.replace("...", "-").replace("..", "_")] = value
    return properties


def on_a_named_volume(service: dict[str, Any], compose: dict[str, Any], path: str) -> bool:
    return any(
        volume["type"] == "volume"
        and volume["source"] in compose["volumes"]
        and (path == volume["target"] or path.startswith(volume["target"].rstrip("/") + "/"))
        for volume in service.get("volumes", [])
    )


def test_kafka_keeps_its_topics_and_offsets_on_its_volume(compose: dict[str, Any]) -> None:
    kafka = services(compose)["kafka"]
    properties = broker_properties(kafka)
    log_dirs = properties.get("log.dirs") or properties.get("log.dir", KAFKA_DEFAULT_LOG_DIR)
    stored = [*log_dirs.split(","), properties.get("metadata.log.dir", log_dirs.split(",")[0])]
    for directory in stored:
        assert on_a_named_volume(kafka, compose, directory), directory


def test_each_database_keeps_its_data_on_its_volume(compose: dict[str, Any]) -> None:
    # /var/lib/mysql is the MySQL image's datadir and VOLUME.
    for part in (parts.POST_DB, parts.SUBSCRIBE_DB):
        assert on_a_named_volume(services(compose)[part.name], compose, "/var/lib/mysql")


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
        ("subscribe-dispatcher", SubscribeSettings),
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


def test_compose_registers_every_connector_with_what_it_needs(compose: dict[str, Any]) -> None:
    registration = services(compose)["connector-registration"]
    settings = {key.lower(): value for key, value in registration.get("environment", {}).items()}
    registered = RegistrationSettings.model_validate(settings)
    assert (registered.read_model_db_host, registered.read_model_db_port) == ("subscribe-db", 3306)
    waits_for = registration["depends_on"]
    assert {"post-migrations", "subscribe-migrations"} <= waits_for.keys()
    # Every ${env:...} of the rendered configs is in the Connect worker's environment.
    worker_environment = services(compose)["connect"]["environment"]
    for name in REGISTERED:
        config = render_for(registered, name)
        for variable in re.findall(r"\$\{env:(\w+)\}", " ".join(config.values())):
            assert variable in worker_environment, (name, variable)
