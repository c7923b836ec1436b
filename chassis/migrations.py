"""The Alembic environment of both services: each one's migrations/env.py calls `migrate`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import URL, MetaData, create_engine


def migrate(metadata: MetaData, url: URL) -> None:
    """Runs the pending migrations as the service's migrator user, checked against its tables."""
    engine = create_engine(url)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=metadata, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
