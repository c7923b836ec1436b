"""The chassis both services run on: logs, HTTP metrics and limits, health, database settings,
the unit of work, the Alembic environment. One copy of each, imported by both services."""
