"""The post service: writes each change of a post and its event to the outbox in one transaction."""
