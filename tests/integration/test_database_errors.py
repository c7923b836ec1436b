"""The errors the real driver and MariaDB raise, classified as the consumer needs: the database's
fault (retry) or the data's (dead-letter). The codes are checked where they come from."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from uuid import uuid4

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from chassis.database import create_engine
from chassis.database_errors import blames_the_data, is_misconfigured, is_transient
from contract.events import PostCreated
from subscribe_service.adapters.repository import SqlInbox, SqlNotifications
from subscribe_service.bootstrap import Bootstrapped
from subscribe_service.domain.notifications import Notification
from subscribe_service.settings import Settings


def error_of(attempt: Callable[[], object]) -> Exception:
    """Whichever error the driver raises: what the classification is for."""
    try:
        attempt()
    except Exception as error:
        return error
    raise AssertionError("no error was raised")


def raised(subscribe_deps: Bootstrapped, statement: Callable[[Connection], object]) -> Exception:
    """The error a statement raises, in a transaction that is rolled back."""
    with subscribe_deps.engine.connect() as connection, connection.begin():
        return error_of(lambda: statement(connection))


def notification(**changes: object) -> Notification:
    fields: dict[str, object] = {
        "event_id": uuid4(), "subscriber_id": 1, "post_id": 1, "author_id": 1,
        "title": "t", "created_at": datetime.now(UTC), **changes,
    }  # fmt: skip
    return Notification(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "refused",
    [
        notification(title="\ud800"),  # the driver cannot encode it: UnicodeEncodeError
        notification(post_id=2**63),  # 1264, out of range
        notification(title="x" * 201),  # 1406, too long
    ],
    ids=["lone surrogate", "out of range", "too long"],
)
def test_a_value_the_database_cannot_store_blames_the_data(
    subscribe_deps: Bootstrapped, refused: Notification
) -> None:
    error = raised(subscribe_deps, lambda c: SqlNotifications(c).add([refused]))
    assert blames_the_data(error)


def test_an_incorrect_value_is_an_operational_error_that_still_blames_the_data(
    subscribe_deps: Bootstrapped,
) -> None:
    error = raised(
        subscribe_deps,
        lambda c: c.execute(
            text("INSERT INTO processed_events (event_id, processed_at) VALUES ('x', '2020-13-45')")
        ),
    )
    assert type(error).__name__ == "OperationalError"  # code 1292, unmapped by PyMySQL
    assert blames_the_data(error)


def test_a_missing_table_blames_the_setup(subscribe_deps: Bootstrapped) -> None:
    error = raised(subscribe_deps, lambda c: c.execute(text("SELECT * FROM no_such_table")))
    assert is_misconfigured(error)
    assert not blames_the_data(error)


def test_a_connection_killed_in_its_transaction_is_transient(subscribe_deps: Bootstrapped) -> None:
    event = PostCreated(uuid4(), 1, 1, "t", datetime.now(UTC))
    with subscribe_deps.engine.connect() as victim:
        victim.begin()  # rolled back with the connection
        own_id = victim.scalar(text("SELECT CONNECTION_ID()"))
        with subscribe_deps.engine.connect() as killer:
            killer.execute(text(f"KILL CONNECTION {int(own_id or 0)}"))
        error = error_of(lambda: SqlInbox(victim).record([event]))
    assert is_transient(error)


def test_a_database_that_does_not_answer_is_transient() -> None:
    settings = Settings(db_port=1)  # nothing listens there
    engine = create_engine(settings.db_url("nobody", settings.service_db_password), 1)
    assert is_transient(error_of(engine.connect))


def test_a_database_silent_in_the_middle_of_a_statement_fails_it_within_the_limit(
    subscribe_deps: Bootstrapped,
) -> None:
    # To the client, a statement that takes longer than the limit is a server gone silent.
    engine = create_engine(subscribe_deps.engine.url, 1, silence_limit_s=1)
    try:
        started = time.monotonic()
        with engine.connect() as connection:
            error = error_of(lambda: connection.execute(text("SELECT SLEEP(10)")))
        assert time.monotonic() - started < 5
        assert is_transient(error)
        assert isinstance(error, DBAPIError)
        assert error.connection_invalidated
        with engine.connect() as connection:  # the pool has let the lost connection go
            assert connection.scalar(text("SELECT 1")) == 1
    finally:
        engine.dispose()
