"""The native stack: the compose topology as local processes, for machines without Docker.

MariaDB from Debian's packages, Kafka (KRaft) and Kafka Connect with Debezium from Maven Central,
and the services, all run by supervisord. `python -m deploy.native --help` lists the commands.
"""
