"""The subscribe service's adapters: SQLAlchemy tables and repositories, Kafka, the notifier, and
the HTTP sender of webhooks."""
