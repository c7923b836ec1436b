"""Which database errors the consumer retries (the database's fault) and which make it dead-letter
the event (the data's): by the error's code, not by PyMySQL's class for it."""

from __future__ import annotations

import pymysql
import pytest
import sqlalchemy.exc

from chassis.database_errors import blames_the_data, is_misconfigured, is_transient
from chassis.unit_of_work import OutcomeUnknown


def wrapped(cause: Exception) -> sqlalchemy.exc.StatementError:
    """As SQLAlchemy raises it: its own class of the same name, around the driver's error."""
    return sqlalchemy.exc.DBAPIError.instance("INSERT ...", None, cause, pymysql.err.Error)


TRANSIENT = [
    pymysql.err.OperationalError(2003, "Can't connect to MySQL server on '127.0.0.1'"),
    pymysql.err.OperationalError(2006, "MySQL server has gone away"),
    pymysql.err.OperationalError(2013, "Lost connection to MySQL server during query"),
    pymysql.err.OperationalError(1053, "Server shutdown in progress"),
    pymysql.err.OperationalError(1927, "Connection was killed"),
    pymysql.err.OperationalError(1213, "Deadlock found when trying to get lock"),
    pymysql.err.OperationalError(1205, "Lock wait timeout exceeded"),
    pymysql.err.InterfaceError(0, ""),
]
MISCONFIGURED = [
    pymysql.err.ProgrammingError(1146, "Table 'notifications' doesn't exist"),
    pymysql.err.OperationalError(1142, "INSERT command denied to user"),
    pymysql.err.OperationalError(1054, "Unknown column 'title'"),
]
THE_DATA = [
    pymysql.err.DataError(1406, "Data too long for column 'title' at row 1"),
    pymysql.err.DataError(1264, "Out of range value for column 'post_id' at row 1"),
    pymysql.err.DataError(1366, "Incorrect string value: '\\xED\\xA0\\x80' for column"),
    # Not in PyMySQL's map, so an OperationalError like a lost connection; yet no retry helps.
    pymysql.err.OperationalError(1292, "Incorrect datetime value: '2020-13-45'"),
    pymysql.err.IntegrityError(1048, "Column 'title' cannot be null"),
    UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed"),
]


@pytest.mark.parametrize("error", TRANSIENT, ids=repr)
def test_a_connection_lost_or_a_lock_lost_is_transient(error: Exception) -> None:
    for raised in (error, wrapped(error)):
        assert is_transient(raised)
        assert not blames_the_data(raised)


@pytest.mark.parametrize("error", MISCONFIGURED, ids=repr)
def test_a_missing_table_column_or_grant_blames_the_setup_not_the_event(error: Exception) -> None:
    for raised in (error, wrapped(error)):
        assert is_misconfigured(raised)
        assert not is_transient(raised)
        assert not blames_the_data(raised)


@pytest.mark.parametrize("error", THE_DATA, ids=repr)
def test_what_the_database_refuses_to_store_blames_the_data(error: Exception) -> None:
    raised = wrapped(error) if isinstance(error, pymysql.err.Error) else error
    assert blames_the_data(raised)


def test_a_commit_whose_answer_was_lost_is_retried_not_blamed_on_the_data() -> None:
    lost = sqlalchemy.exc.OperationalError("COMMIT", None, pymysql.err.OperationalError(2013, "x"))
    unknown = OutcomeUnknown("lost")
    unknown.__cause__ = lost
    assert is_transient(unknown)
    assert not blames_the_data(unknown)


@pytest.mark.parametrize(
    "code",
    [1290, 1836, 1114, 1021, 3024, 1203, 1037, 1180, 9999],
    ids=["read-only", "read-only (MariaDB)", "table full", "disk full", "statement timeout",
         "user connections", "out of memory", "commit failed", "a code nobody listed"],
)  # fmt: skip
def test_a_server_in_trouble_is_never_blamed_on_the_event(code: int) -> None:
    error = sqlalchemy.exc.OperationalError("INSERT", None, pymysql.err.OperationalError(code, "x"))
    assert not blames_the_data(error)


def test_a_bug_in_the_code_is_never_blamed_on_the_event() -> None:
    assert not blames_the_data(AttributeError("'NoneType' object has no attribute 'x'"))
