"""The post service's domain: posts and the events they raise. Plain Python."""
