"""The subscribe service: subscriptions, and notifications applied exactly once per post event."""
