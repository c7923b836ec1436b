"""The two MariaDB servers of the native stack: creating their data and applying mysql/*.sql."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass

import structlog

from connect.native.layout import REPO, Layout

log = structlog.get_logger()


@dataclass(frozen=True)
class DatabaseServer:
    """One server instance, named as its supervisord program."""

    program: str
    database: str
    port: int
    # Session variable in mysql/<database>.sql -> environment variable holding the password.
    password_variables: dict[str, str]

    @property
    def sql(self) -> str:
        return (REPO / "mysql" / f"{self.database}.sql").read_text()


POST_DB = DatabaseServer(
    program="mariadb-post",
    database="post_service_db",
    port=3306,
    password_variables={
        "post_service_password": "POST_SERVICE_DB_PASSWORD",
        "post_migrator_password": "POST_MIGRATOR_DB_PASSWORD",
        "post_relay_password": "POST_RELAY_DB_PASSWORD",
        "debezium_password": "DEBEZIUM_DB_PASSWORD",
    },
)
SUBSCRIBE_DB = DatabaseServer(
    program="mariadb-subscribe",
    database="subscribe_service_db",
    port=3307,
    password_variables={
        "subscribe_service_password": "SUBSCRIBE_SERVICE_DB_PASSWORD",
        "subscribe_migrator_password": "SUBSCRIBE_MIGRATOR_DB_PASSWORD",
    },
)
SERVERS = (POST_DB, SUBSCRIBE_DB)


def initialize_datadir(layout: Layout, server: DatabaseServer) -> None:
    """Creates the system tables once; root may only log in over the local socket, as OS root."""
    datadir = layout.datadir(server.program)
    if (datadir / "mysql").is_dir():
        return
    log.info("initializing MariaDB data", server=server.program)
    subprocess.run(
        [
            "mariadb-install-db",
            "--no-defaults",
            f"--datadir={datadir}",
            "--user=root",
            "--auth-root-authentication-method=socket",
            "--skip-test-db",
        ],
        check=True,
        capture_output=True,
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
        ["mariadb", f"--socket={layout.socket(server.program)}", "--user=root", "--batch"],
        input=preamble + server.sql,
        text=True,
        check=True,
    )


def query_as_admin(layout: Layout, server: DatabaseServer, sql: str) -> list[list[str]]:
    """Runs one query as the administrator over the local socket; returns its rows."""
    done = subprocess.run(
        ["mariadb", f"--socket={layout.socket(server.program)}", "--user=root", "--batch",
         "--skip-column-names", "--execute", sql],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return [line.split("\t") for line in done.stdout.splitlines()]


def ping(layout: Layout, server: DatabaseServer) -> bool:
    result = subprocess.run(
        ["mariadb-admin", f"--socket={layout.socket(server.program)}", "--user=root", "ping"],
        capture_output=True,
    )
    return result.returncode == 0
