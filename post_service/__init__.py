"""The post service: writes a post and its PostCreated event to the outbox in one transaction."""
