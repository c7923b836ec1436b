"""What the pool does with a connection given back (chassis.database): a transaction still open is
rolled back; one whose COMMIT or ROLLBACK was answered costs no further ROLLBACK."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, Engine, event, text
from sqlalchemy.exc import OperationalError

from chassis.database import create_engine
from chassis.unit_of_work import SqlUnitOfWork
from subscribe_service.bootstrap import Bootstrapped

ROLLBACKS_SO_FAR = (
    "SELECT CONNECTION_ID(), VARIABLE_VALUE FROM information_schema.SESSION_STATUS"
    " WHERE VARIABLE_NAME = 'COM_ROLLBACK'"
)
# A read of an InnoDB table: it opens a transaction (autocommit is off), where SELECT 1 does not.
OPENS_A_TRANSACTION = text("SELECT COUNT(*) FROM subscriptions")


class BareUnitOfWork(SqlUnitOfWork):
    def bind(self, connection: Connection) -> None:
        pass


class Failed(Exception):
    pass


@pytest.fixture
def engine(subscribe_deps: Bootstrapped) -> Iterator[Engine]:
    """One connection, so that each checkout gets the connection the last one gave back."""
    engine = create_engine(subscribe_deps.engine.url, 1)
    yield engine
    engine.dispose()


def rollbacks_sent(engine: Engine) -> tuple[int, int]:
    """The pool's one connection: its id, and the ROLLBACKs its session has received so far.
    Given back without a transaction of SQLAlchemy's, it receives one more from the pool."""
    raw = engine.raw_connection()
    cursor = raw.cursor()
    cursor.execute(ROLLBACKS_SO_FAR)
    row = cursor.fetchone()
    raw.close()
    assert row is not None
    connection_id, rollbacks = row
    return int(connection_id), int(rollbacks)


def test_a_connection_given_back_after_its_commit_gets_no_rollback(engine: Engine) -> None:
    connection_id, before = rollbacks_sent(engine)
    with BareUnitOfWork(engine) as uow:
        uow.connection.execute(OPENS_A_TRANSACTION)
        uow.commit()
    # The pool's after rollbacks_sent, none after the COMMIT.
    assert rollbacks_sent(engine) == (connection_id, before + 1)


def test_a_unit_of_work_that_fails_is_rolled_back_once(engine: Engine) -> None:
    connection_id, before = rollbacks_sent(engine)

    def fails() -> None:
        with BareUnitOfWork(engine) as uow:
            uow.connection.execute(OPENS_A_TRANSACTION)
            raise Failed

    with pytest.raises(Failed):
        fails()
    # Its own ROLLBACK, and the pool's after rollbacks_sent: none after the unit of work's.
    assert rollbacks_sent(engine) == (connection_id, before + 2)


def test_a_connection_given_back_with_its_transaction_open_is_rolled_back(engine: Engine) -> None:
    connection_id, before = rollbacks_sent(engine)
    raw = engine.raw_connection()  # no SQLAlchemy transaction to end it: the pool must
    cursor = raw.cursor()
    cursor.execute(OPENS_A_TRANSACTION.text)
    cursor.execute("SELECT @@in_transaction")
    assert cursor.fetchone() == (1,)
    raw.close()
    raw = engine.raw_connection()
    cursor = raw.cursor()
    cursor.execute("SELECT @@in_transaction")
    assert cursor.fetchone() == (0,)
    raw.close()
    # The pool's after each of the two, and after rollbacks_sent.
    assert rollbacks_sent(engine) == (connection_id, before + 3)


def test_a_unit_of_work_whose_connection_was_lost_opens_no_other_to_end(
    engine: Engine, subscribe_deps: Bootstrapped
) -> None:
    rollbacks_sent(engine)  # the pool's one connection is open
    opened: list[object] = []
    event.listen(engine, "connect", lambda *_: opened.append(_))

    def lost() -> None:
        with BareUnitOfWork(engine) as uow:
            own_id = int(uow.connection.scalar(text("SELECT CONNECTION_ID()")) or 0)
            with subscribe_deps.engine.connect() as killer:
                killer.execute(text(f"KILL CONNECTION {own_id}"))
            uow.connection.execute(OPENS_A_TRANSACTION)

    with pytest.raises(OperationalError):  # the lost connection's error, not another
        lost()
    assert opened == []  # the next checkout opens one, not the end of this unit of work
