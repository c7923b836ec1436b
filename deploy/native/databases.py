"""The two MariaDB servers of the native stack: creating their data and applying mysql/*.sql."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass

import structlog

from deploy import parts
from deploy.native.layout import REPO, Layout
from deploy.native.tools import run_quietly
from deploy.parts import Part

log = structlog.get_logger()


@dataclass(frozen=True)
class DatabaseServer:
    """One server instance: its part (name, port) and the database it holds."""

    part: Part
    database: str
    # Its name before the parts had one name in every topology: its data folder is taken over.
    legacy_name: str
    # Session variable in mysql/<database>.sql -> environment variable holding the password.
    password_variables: dict[str, str]

    @property
    def sql(self) -> str:
        return (REPO / "mysql" / f"{self.database}.sql").read_text()


POST_DB = DatabaseServer(
    part=parts.POST_DB,
    database="post_service_db",
    legacy_name="mariadb-post",
    password_variables={
        "post_service_password": "POST_SERVICE_DB_PASSWORD",
        "post_migrator_password": "POST_MIGRATOR_DB_PASSWORD",
        "post_relay_password": "POST_RELAY_DB_PASSWORD",
        "debezium_password": "DEBEZIUM_DB_PASSWORD",
    },
)
SUBSCRIBE_DB = DatabaseServer(
    part=parts.SUBSCRIBE_DB,
    database="subscribe_service_db",
    legacy_name="mariadb-subscribe",
    password_variables={
        "subscribe_service_password": "SUBSCRIBE_SERVICE_DB_PASSWORD",
        "subscribe_migrator_password": "SUBSCRIBE_MIGRATOR_DB_PASSWORD",
        "read_model_sink_password": "READ_MODEL_SINK_DB_PASSWORD",
    },
)
SERVERS = (POST_DB, SUBSCRIBE_DB)
BY_PART = {server.part.name: server for server in SERVERS}


def initialize_datadir(layout: Layout, server: DatabaseServer) -> None:
    """Creates the system tables once; root may only log in over the local socket, as OS root."""
    datadir = layout.datadir(server.part.name)
    legacy = layout.datadir(server.legacy_name)
    if legacy.is_dir() and not datadir.exists():
        log.info("renaming the data folder", old=str(legacy), new=str(datadir))
        legacy.rename(datadir)
    if (datadir / "mysql").is_dir():
        return
    log.info("initializing MariaDB data", server=server.part.name)
    run_quietly(
        [
            "mariadb-install-db",
            "--no-defaults",
            f"--datadir={datadir}",
            "--user=root",
            "--auth-root-authentication-method=socket",
            "--skip-test-db",
        ]
    )


def sql_literal(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def apply_users(layout: Layout, server: DatabaseServer, passwords: dict[str, str]) -> None:
    """Creates the database and its users as the administrator, over the local socket."""
    preamble = "".join(
        f"SET @{variable} = {sql_literal(passwords[env_name])};\n"
        for variable, env_name in server.password_variables.items()
    )
    subprocess.run(
        ["mariadb", f"--socket={layout.socket(server.part.name)}", "--user=root", "--batch"],
        input=preamble + server.sql,
        text=True,
        check=True,
    )


def query_as_admin(layout: Layout, server: DatabaseServer, sql: str) -> list[list[str]]:
    """Runs one query as the administrator over the local socket; returns its rows."""
    done = subprocess.run(
        ["mariadb", f"--socket={layout.socket(server.part.name)}", "--user=root", "--batch",
         "--skip-column-names", "--execute", sql],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return [line.split("\t") for line in done.stdout.splitlines()]


def ping(layout: Layout, server: DatabaseServer) -> bool:
    result = subprocess.run(
        ["mariadb-admin", f"--socket={layout.socket(server.part.name)}", "--user=root", "ping"],
        capture_output=True,
    )
    return result.returncode == 0
