"""Registers the connectors once Kafka Connect is healthy: `python -m connect.register`.
The outbox connector, the posts table's capture and the read model's sink by default; `--raw`
also registers the raw change-event connector; `--reset` first starts the sources afresh, for
when the binlog they need was purged: see docs/reliability.md.

Idempotent: topics are created only if missing, the config is PUT only when it differs, and it
returns once each connector is in place (see `check_in_place`), or fails saying what to do. Under
docker compose it runs again at every `docker compose up`, in whatever state the stack was left.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import httpx
import structlog
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic
from pydantic_settings import BaseSettings
from tenacity import Retrying, retry_if_exception_type, stop_after_delay, wait_fixed

from connect.connector import (
    RAW_CONNECTOR,
    REGISTERED,
    STATE_CONNECTOR,
    Flavour,
    heartbeat_topic,
    is_sink,
    output_topic,
    render,
    schema_history_topic,
    sink_dead_letter_topic,
)
from deploy import parts

log = structlog.get_logger()


class RegistrationSettings(BaseSettings):
    connect_url: str = parts.CONNECT.url
    kafka_bootstrap_servers: str = parts.KAFKA.address
    connector_flavour: Flavour = Flavour.MARIADB
    connectors: list[str] = list(REGISTERED)
    # Where Kafka Connect reaches the post database (a container name under compose).
    connector_db_host: str = "127.0.0.1"
    connector_db_port: int = parts.POST_DB.port
    # ... and the subscribe database, where the read model's sink writes.
    read_model_db_host: str = "127.0.0.1"
    read_model_db_port: int = parts.SUBSCRIBE_DB.port
    events_partitions: int = 3
    ready_timeout_s: float = 120.0


# The posts table's changes: compacted, and a deletion's tombstone kept as long as the binlog
# (mysql/conf.d/outbox.cnf), so a sink that far behind still sees the post go.
STATE_TOPIC_CONFIG = {"cleanup.policy": "compact", "delete.retention.ms": str(7 * 24 * 3600 * 1000)}


class NotReady(Exception):
    """Something is still starting; asked again until the deadline."""


def ensure_topics(settings: RegistrationSettings, name: str) -> None:
    """Creates a source's output and heartbeat topics, or a sink's dead-letter topic, if they do
    not exist.
    The posts table's changes are compacted: the newest change of each post is kept for good,
    so a read model can be rebuilt from the topic.

    Not its schema-history topic: Debezium creates that one itself, kept forever and never
    compacted, when it starts with no stored position. Given one made beforehand, Debezium 3.5
    checks its settings twice on a thread pool that the first check shuts down, and the task
    FAILS now and then with a RejectedExecutionException."""
    if is_sink(name):
        # Made here with the broker's replication factor: Connect would ask for 3 by default.
        topics = [NewTopic(sink_dead_letter_topic(name), num_partitions=1)]
    else:
        output = STATE_TOPIC_CONFIG if name == STATE_CONNECTOR else {}
        partitions = settings.events_partitions
        topics = [
            NewTopic(output_topic(name), num_partitions=partitions, config=output),
            # One key per connector: only the newest heartbeat is worth keeping.
            NewTopic(heartbeat_topic(name), num_partitions=1, config={"cleanup.policy": "compact"}),
        ]
    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap_servers})
    for topic, future in admin.create_topics(topics).items():
        try:
            future.result()
            log.info("topic created", topic=topic)
        except KafkaException as error:
            if error.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise


def render_for(settings: RegistrationSettings, name: str) -> dict[str, str]:
    return render(
        name,
        settings.connector_flavour,
        database_host=settings.connector_db_host,
        database_port=settings.connector_db_port,
        kafka_bootstrap_servers=settings.kafka_bootstrap_servers,
        read_model_db_host=settings.read_model_db_host,
        read_model_db_port=settings.read_model_db_port,
    )


def apply_config(client: httpx.Client, settings: RegistrationSettings, name: str) -> None:
    """Creates or updates the connector; leaves it alone when it already runs this config, since
    an update restarts its task."""
    config = render_for(settings, name)
    url = f"/connectors/{name}/config"
    current = client.get(url)
    if current.status_code == 200 and current.json() == {"name": name, **config}:
        log.info("connector config unchanged", connector=name)
        return
    client.put(url, json=config).raise_for_status()
    log.info("connector config applied", connector=name)


def wait_until(check: Callable[[], None], settings: RegistrationSettings) -> None:
    """Calls check until it stops raising NotReady, or raises when the deadline passes."""
    polling = Retrying(
        stop=stop_after_delay(settings.ready_timeout_s),
        wait=wait_fixed(0.5),
        retry=retry_if_exception_type((NotReady, httpx.TransportError)),
        reraise=True,
    )
    polling(check)


def check_in_place(name: str, status: dict[str, Any], offsets: list[Any]) -> str:
    """Whether a connector is in place, from Kafka Connect's answers to its GET .../status and
    .../offsets: a source has stored a binlog position, and it runs, or was paused on purpose
    (relay modes `polling` and `direct` pause the outbox connector); a sink runs. Returns that
    state; raises NotReady while it gets there, and RuntimeError when it cannot get there by
    itself."""
    state = str(status["connector"]["state"])
    tasks = status["tasks"]
    failed = [task for task in tasks if task["state"] == "FAILED"]
    if state == "FAILED" or failed:
        trace = (failed[0] if failed else status["connector"]).get("trace", "")
        raise RuntimeError(
            f"connector {name} FAILED: {trace.splitlines()[0] if trace else 'no trace'}\n"
            f"restart it: curl -X POST '{parts.CONNECT.url}/connectors/{name}/restart"
            "?includeTasks=true&onlyFailed=true', or, if the binlog it needs was purged, "
            "make recover-connector SINCE=... (docs/reliability.md)"
        )
    # Until its position is stored, a restart would snapshot afresh from the binlog's end and
    # skip what was written in between.
    if state == "PAUSED":
        if not offsets:
            raise RuntimeError(
                f"connector {name} was paused before it stored a binlog position: resume it "
                f"(curl -X PUT {parts.CONNECT.url}/connectors/{name}/resume, or "
                "make relay-mode MODE=cdc) and register again"
            )
        return state
    if state != "RUNNING" or not tasks:
        raise NotReady(f"connector is {state}")
    if any(task["state"] != "RUNNING" for task in tasks):
        raise NotReady("a task is not running yet")
    if not offsets and not is_sink(name):
        raise NotReady("the connector has not stored a binlog position yet")
    return state


def register(settings: RegistrationSettings) -> None:
    with httpx.Client(base_url=settings.connect_url, timeout=10) as client:

        def connect_is_up() -> None:
            plugins = {p["class"] for p in client.get("/connector-plugins").json()}
            for name in settings.connectors:
                wanted = render_for(settings, name)["connector.class"]
                if wanted not in plugins:
                    raise NotReady(f"the plugin of {name} is not loaded: {wanted}")

        wait_until(connect_is_up, settings)
        for name in settings.connectors:

            def connector_is_in_place(name: str = name) -> None:
                status = client.get(f"/connectors/{name}/status")
                if status.status_code == 404:
                    raise NotReady("the connector is not created yet")
                offsets = client.get(f"/connectors/{name}/offsets").json()["offsets"]
                state = check_in_place(name, status.json(), offsets)
                log.info(f"connector {state.lower()}", connector=name)

            ensure_topics(settings, name)
            apply_config(client, settings, name)
            wait_until(connector_is_in_place, settings)


def set_paused(settings: RegistrationSettings, name: str, paused: bool) -> None:
    """Pauses a connector (it keeps its binlog position) or resumes it where it stopped."""
    verb = "pause" if paused else "resume"
    with httpx.Client(base_url=settings.connect_url, timeout=10) as client:
        client.put(f"/connectors/{name}/{verb}").raise_for_status()
        wanted = "PAUSED" if paused else "RUNNING"

        def in_state() -> None:
            state = client.get(f"/connectors/{name}/status").json()["connector"]["state"]
            if state != wanted:
                raise NotReady(f"connector is {state}")

        wait_until(in_state, settings)
    log.info(f"connector {verb}d", connector=name)


def reset(settings: RegistrationSettings, name: str) -> None:
    """Starts a connector afresh: stopped, its offsets and schema history gone, it snapshots and
    then reads the binlog from the current position. Events between where it stood and now are
    *not* read: follow with `python -m post_service reconcile --since ...` for that window.
    A connector paused on purpose (another relay mode runs) stays paused."""
    with httpx.Client(base_url=settings.connect_url, timeout=30) as client:
        was = client.get(f"/connectors/{name}/status").json()["connector"]["state"]
        forget_position(client, settings, name)
        again = "pause" if was == "PAUSED" else "resume"
        client.put(f"/connectors/{name}/{again}").raise_for_status()
    log.info("connector reset", connector=name, state="PAUSED" if was == "PAUSED" else "RUNNING")


def unregister(settings: RegistrationSettings, name: str) -> None:
    """Removes a connector with its offsets and schema history, so that one registered again
    under its name starts from the current binlog position, as a new one does (Connect keeps a
    deleted connector's offsets: registered again, it would read all the binlog written since)."""
    with httpx.Client(base_url=settings.connect_url, timeout=30) as client:
        forget_position(client, settings, name)
        client.delete(f"/connectors/{name}").raise_for_status()
    log.info("connector removed", connector=name)


def forget_position(client: httpx.Client, settings: RegistrationSettings, name: str) -> None:
    """Stops the connector, then deletes its offsets and its schema history topic."""
    client.put(f"/connectors/{name}/stop").raise_for_status()

    def stopped() -> None:
        state = client.get(f"/connectors/{name}/status").json()["connector"]["state"]
        if state != "STOPPED":
            raise NotReady(f"connector is {state}")

    wait_until(stopped, settings)
    client.delete(f"/connectors/{name}/offsets").raise_for_status()
    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap_servers})
    admin.delete_topics([schema_history_topic(name)])[schema_history_topic(name)].result()

    def history_gone() -> None:
        if schema_history_topic(name) in admin.list_topics(timeout=10).topics:
            raise NotReady("the schema history topic is still being deleted")

    wait_until(history_gone, settings)


def main() -> int:
    settings = RegistrationSettings()
    if "--reset" in sys.argv[1:]:
        registered = httpx.get(f"{settings.connect_url}/connectors", timeout=10).json()
        for name in registered:
            if not is_sink(name):  # a sink has no binlog position; it reads on from its offsets
                reset(settings, name)
    if "--raw" in sys.argv[1:]:
        settings.connectors.append(RAW_CONNECTOR)
    register(settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
