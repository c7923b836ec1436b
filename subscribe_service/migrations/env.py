"""Runs the subscribe service's migrations as its migrator user, on subscribe_service_db only."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from subscribe_service.adapters.tables import metadata
from subscribe_service.settings import MigrationSettings

settings = MigrationSettings()
engine = create_engine(settings.db_url(settings.migrator_db_user, settings.migrator_db_password))

with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()
