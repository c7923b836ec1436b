"""mysql/initdb/10-outbox-users.sh, the compose path's user setup, run as the MySQL image's
entrypoint runs it (sourced by bash under `set -eo pipefail`, with its docker_process_sql): it
hands MySQL the same SQL the native stack does, whatever the passwords hold."""

from __future__ import annotations

import os
import re
import subprocess

from hypothesis import given, settings
from hypothesis import strategies as st

from deploy.native.databases import sql_literal
from deploy.native.secrets import PASSWORD_VARIABLES
from tests.running_stack import REPO

SCRIPT = REPO / "mysql" / "initdb" / "10-outbox-users.sh"
# The entrypoint's side, stubbed: the SQL goes to stdout instead of the server, and the image's
# /outbox/mysql (this repository's mysql/, mounted) is read from here.
ENTRYPOINT = """
set -eo pipefail
docker_process_sql() { command cat; }
cat() { command cat "${1/#\\/outbox\\/mysql/$REPO_MYSQL}"; }
. "$SCRIPT"
"""
# What an environment variable can hold (no NUL) and a .env line can set (no line break), with
# what a MySQL string literal or a shell treats specially drawn often.
# (A list of one-character strings: as a text alphabet the two would merge, and draw those few
# characters all but never.)
passwords = st.lists(
    st.sampled_from("\\'\"`$%_;")
    | st.characters(exclude_categories=["Cs"], exclude_characters="\x00\n\r"),
    min_size=1,
).map("".join)


def sql_for(database: str, password: str) -> str:
    return subprocess.run(
        ["bash", "-c", ENTRYPOINT],
        env={
            "PATH": os.environ["PATH"],
            "LC_ALL": "C.UTF-8",
            "SCRIPT": str(SCRIPT),
            "REPO_MYSQL": str(REPO / "mysql"),
            "OUTBOX_DATABASE": database,
            **dict.fromkeys(PASSWORD_VARIABLES, password),
        },
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_the_script_is_sourced_by_the_entrypoint_so_it_has_docker_process_sql() -> None:
    # docker-library's entrypoint runs an executable *.sh in a shell of its own, without its
    # functions, and sources any other.
    assert not os.access(SCRIPT, os.X_OK)


@settings(max_examples=40)
@given(password=passwords)
def test_a_password_reaches_mysql_as_the_native_stack_writes_it(password: str) -> None:
    sql = sql_for("post_service_db", password)
    variables = sql.removesuffix((REPO / "mysql" / "post_service_db.sql").read_text())
    assigned = re.findall(r"^SET @(\w+) = (.*);$", variables, flags=re.MULTILINE)
    assert [name for name, _ in assigned] == [
        "post_service_password",
        "post_migrator_password",
        "post_relay_password",
        "debezium_password",
    ]
    assert {literal for _, literal in assigned} == {sql_literal(password)}


def test_each_database_gets_its_own_sql_file_after_the_passwords() -> None:
    for database in ("post_service_db", "subscribe_service_db"):
        sql = sql_for(database, "a\\'b")
        assert sql.endswith((REPO / "mysql" / f"{database}.sql").read_text())
        assert "SET @" in sql.partition("CREATE DATABASE")[0]
