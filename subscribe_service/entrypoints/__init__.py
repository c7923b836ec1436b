"""The subscribe service's entry points: the HTTP API and the event consumer."""
