"""The post service's entry points: the HTTP API."""
