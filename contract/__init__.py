"""The wire contract between the post service and the subscribe service, written once: topics,
header names, event types, their payloads' bounds, and a JSON Schema per event type
(`contract/schemas/`). The post service (every relay mode), the connector template, the consumer
and the load test import it; `tests/unit/test_event_contract.py` checks both sides against it."""
