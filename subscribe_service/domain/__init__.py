"""The subscribe service's domain: post events and the notifications they cause. Plain Python."""
