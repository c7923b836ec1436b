"""Runs the post service's migrations as its migrator user, against post_service_db only."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from post_service.adapters.tables import metadata
from post_service.settings import MigrationSettings

settings = MigrationSettings()
engine = create_engine(settings.db_url(settings.migrator_db_user, settings.migrator_db_password))

with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()
