"""Runs the subscribe service's migrations as its migrator user, on subscribe_service_db only."""

from __future__ import annotations

from chassis.migrations import migrate
from subscribe_service.adapters.tables import metadata
from subscribe_service.settings import MigrationSettings

settings = MigrationSettings()
migrate(metadata, settings.db_url(settings.migrator_db_user, settings.migrator_db_password))
