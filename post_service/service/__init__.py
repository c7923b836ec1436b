"""The post service's use cases, one function per verb, each with its transaction visible."""
