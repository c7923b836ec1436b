"""Runs the post service's migrations as its migrator user, on post_service_db only."""

from __future__ import annotations

from chassis.migrations import migrate
from post_service.adapters.tables import metadata
from post_service.settings import MigrationSettings

settings = MigrationSettings()
migrate(metadata, settings.db_url(settings.migrator_db_user, settings.migrator_db_password))
