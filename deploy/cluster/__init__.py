"""The cluster topology: the same system with each part on a host of its own (Linux network
namespaces on one bridge), three Kafka nodes, two Connect workers and several instances of each
service. `python -m deploy.cluster --help`; `make cluster-up`."""
