"""The subscribe service's adapters: SQLAlchemy tables and repositories, Kafka, the notifier."""
