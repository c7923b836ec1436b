"""The unit of work: one database transaction, rolled back on leaving the block unless committed.

Each service's port subclasses `UnitOfWork` with its repositories; its SQL adapter subclasses
`SqlUnitOfWork` and binds them to the transaction's connection.
"""

from __future__ import annotations

import abc
from types import TracebackType
from typing import Self

from sqlalchemy import Connection, Engine, RootTransaction
from sqlalchemy.exc import InterfaceError, OperationalError

from chassis.database import transaction_ended


class OutcomeUnknown(Exception):
    """The connection failed during COMMIT: the transaction may or may not have committed."""


class UnitOfWork(abc.ABC):
    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.rollback()

    @abc.abstractmethod
    def commit(self) -> None: ...

    @abc.abstractmethod
    def rollback(self) -> None:
        """Undoes what was not committed; does nothing after a commit."""


class SqlUnitOfWork(UnitOfWork):
    """One connection from the pool and one transaction on it, for the length of a `with`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @abc.abstractmethod
    def bind(self, connection: Connection) -> None:
        """Sets the service's repositories on this transaction's connection."""

    def __enter__(self) -> Self:
        self.connection = self.engine.connect()
        self.transaction: RootTransaction = self.connection.begin()
        self.bind(self.connection)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            super().__exit__(exc_type, exc, traceback)
        finally:
            self.connection.close()

    def commit(self) -> None:
        try:
            self.transaction.commit()
        except (OperationalError, InterfaceError) as error:
            # The COMMIT may have reached the server and the answer not come back.
            raise OutcomeUnknown(str(error)) from error
        transaction_ended(self.connection)

    def rollback(self) -> None:
        if self.transaction.is_active:
            self.transaction.rollback()
            transaction_ended(self.connection)
