"""Where a service's database is, and the engine every process of it builds from that."""

from __future__ import annotations

from typing import Any, Final

import sqlalchemy
from pydantic import SecretStr
from pydantic_settings import BaseSettings
from sqlalchemy import URL, Connection, Engine, event
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.pool import ConnectionPoolEntry, PoolResetState


class DatabaseSettings(BaseSettings):
    """Each service subclasses it with its own prefix (POST_, SUBSCRIBE_) and defaults."""

    db_host: str = "127.0.0.1"
    db_port: int
    db_name: str

    def db_url(self, user: str, password: SecretStr) -> URL:
        return URL.create(
            "mysql+pymysql",
            username=user,
            password=password.get_secret_value(),
            host=self.db_host,
            port=self.db_port,
            database=self.db_name,
            query={"charset": "utf8mb4"},
        )


# Longer than any statement of the services takes, InnoDB's row lock wait (50 s) included. A wait
# for a metadata lock (behind a migration) has no such bound on the server: the client gives up.
SILENCE_LIMIT_S = 60


def create_engine(
    url: URL, pool_size: int, *, silence_limit_s: float = SILENCE_LIMIT_S, **options: Any
) -> Engine:
    """A pool of exactly pool_size connections, each checked before use and renewed hourly, so a
    restarted database costs a retry, not a stream of errors. A database silent for longer than
    silence_limit_s in the middle of a statement (a network that drops its packets, a host that
    froze, a failover that left the connection half open) fails that statement as a lost
    connection: retried as any other, where TCP alone would wait minutes to hours (keep-alive),
    or for good behind a stopped server on a live host."""
    connect_args = {
        "read_timeout": silence_limit_s,
        "write_timeout": silence_limit_s,
        **options.pop("connect_args", {}),
    }
    engine = sqlalchemy.create_engine(
        url,
        pool_size=pool_size,
        max_overflow=0,
        pool_pre_ping=True,
        pool_recycle=3600,
        # A request that waits this long for a connection is answered 503 instead of queueing.
        pool_timeout=5,
        connect_args=connect_args,
        # What the pool does with a connection given back: see _rolled_back_unless_ended.
        pool_reset_on_return=None,
        **options,
    )
    event.listen(engine, "begin", _transaction_begun)
    event.listen(engine.pool, "reset", _rolled_back_unless_ended)
    return engine


# Set on a pooled connection when its transaction's COMMIT or ROLLBACK was answered, cleared when
# the next one begins.
_ENDED: Final = "transaction ended"


def transaction_ended(connection: Connection) -> None:
    """Tells the pool that this connection's transaction is over, its COMMIT or ROLLBACK answered:
    it goes back to the pool without a ROLLBACK of its own. Nothing may run on the driver's
    connection itself after this (a statement through SQLAlchemy clears it: see
    _transaction_begun). A connection lost in the transaction has nothing to give back: reading
    its `info` would check out and open another, only to set this."""
    if not connection.invalidated:
        connection.info[_ENDED] = True


def _transaction_begun(connection: Connection) -> None:
    connection.info.pop(_ENDED, None)


def _rolled_back_unless_ended(
    dbapi_connection: DBAPIConnection, entry: ConnectionPoolEntry, state: PoolResetState
) -> None:
    """A connection given back to the pool is rolled back, unless its transaction is known to
    have ended. SQLAlchemy's own reset rolls back every connection given back, a round trip to
    the database even just after a COMMIT: one of the six of a post's creation (the pool's
    check, two INSERTs and a DELETE, the COMMIT, this ROLLBACK). A connection given back with
    its transaction open, or after a COMMIT or ROLLBACK that did not answer, is still rolled back
    (and invalidated if that fails), even when SQLAlchemy has just rolled it back: after a COMMIT
    that failed it sends no ROLLBACK, and says it did all the same (`transaction_was_reset`).
    A health check's connection gets two ROLLBACKs, as the price."""
    ended = entry.info.pop(_ENDED, False)
    if not ended and not state.terminate_only:
        dbapi_connection.rollback()
