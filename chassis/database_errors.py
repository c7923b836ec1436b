"""What a database error says about its cause: the database (away, busy, or set up wrong), and the
same transaction can go through later; or the data it writes, which no retry will ever store.

By error code, not by class: PyMySQL raises OperationalError for any server code it does not map,
so "Incorrect datetime value" (1292) is an OperationalError as much as "Lost connection" (2013).
"""

from __future__ import annotations

from typing import Final

import pymysql
import sqlalchemy.exc

from chassis.unit_of_work import OutcomeUnknown

# The server is away, shutting down or full, or the connection broke: client codes 2xxx, and the
# server's codes for a connection it ended (1927 is MariaDB's "Connection was killed", 4031
# MySQL's idle disconnect).
CONNECTION_LOST: Final = frozenset(
    {1040, 1053, 1152, 1158, 1159, 1160, 1161, 1184, 1927, 2002, 2003, 2006, 2013, 2055, 4031}
)
# Another transaction held a row past the lock wait (1205), or the two deadlocked (1213).
LOCK_CONFLICT: Final = frozenset({1205, 1213})
# That, or the statement was interrupted: run it again.
INTERRUPTED: Final = LOCK_CONFLICT | {1317, 1969}
# The value cannot be stored: NULL where none may be, out of range, truncated, an incorrect
# date, string or JSON, a constraint, a packet too large. PyMySQL raises OperationalError for
# some of them (1292), so they are listed by code.
DATA_REFUSED: Final = frozenset({1048, 1153, 1264, 1265, 1292, 1366, 1406, 3140, 4025})
# A grant, database, table or column is missing: the deployment is wrong, and every event would
# fail alike, so none is to blame.
MISCONFIGURED: Final = frozenset({1044, 1045, 1049, 1054, 1142, 1143, 1146, 1227})


def is_transient(error: BaseException) -> bool:
    """The database is away or busy for now."""
    if isinstance(error, OutcomeUnknown):
        return True  # the COMMIT's answer was lost: going again is what an inbox makes safe
    if isinstance(error, sqlalchemy.exc.TimeoutError | ConnectionError):
        return True  # no connection free in the pool; a socket error the driver did not wrap
    if isinstance(error, sqlalchemy.exc.DBAPIError) and error.connection_invalidated:
        return True
    cause = driver_error(error)
    # PyMySQL raises these two only for a closed connection or a broken packet stream.
    if isinstance(cause, pymysql.err.InterfaceError | pymysql.err.InternalError):
        return True
    return _code(cause) in CONNECTION_LOST | INTERRUPTED


def is_lock_conflict(error: BaseException) -> bool:
    """Another transaction held a row the statement needed past the session's lock wait, or the
    two deadlocked: InnoDB undid the statement (or the whole transaction)."""
    return _code(driver_error(error)) in LOCK_CONFLICT


def is_misconfigured(error: BaseException) -> bool:
    """The schema or the grants are not what the code expects."""
    cause = driver_error(error)
    if isinstance(cause, pymysql.err.ProgrammingError | pymysql.err.NotSupportedError):
        return True
    return _code(cause) in MISCONFIGURED


def blames_the_data(error: BaseException) -> bool:
    """The database refuses what the transaction writes (a value out of range, a string it
    cannot store), or the driver cannot even send it. Only these: any other error (a read-only
    or full server, a timeout, a bug) is the system's, and retried, never blamed on an event."""
    if is_transient(error) or is_misconfigured(error):
        return False
    cause = driver_error(error)
    if isinstance(cause, pymysql.err.DataError | pymysql.err.IntegrityError | UnicodeEncodeError):
        return True
    return _code(cause) in DATA_REFUSED


def driver_error(error: BaseException) -> BaseException:
    """The driver's own error inside SQLAlchemy's wrapper: its code, without the statement."""
    if isinstance(error, sqlalchemy.exc.DBAPIError) and error.orig is not None:
        return error.orig
    return error


def _code(error: BaseException) -> int | None:
    if isinstance(error, pymysql.err.MySQLError) and error.args and type(error.args[0]) is int:
        return error.args[0]
    return None
