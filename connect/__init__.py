"""Kafka Connect with Debezium: the outbox connector, its registration, and the native stack."""
