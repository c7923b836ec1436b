"""Restarts a connector's task that FAILED and that a restart heals: `python -m connect.restarter`.

Kafka Connect never restarts a failed task by itself (Strimzi's `autoRestart` does this for a
KafkaConnector). Two failures heal with a restart:

- Any failure of a sink's task. Debezium's JDBC sink fails its task when the subscribe database
  goes away in the middle of a commit: it retries a lost connection
  (`connection.restart.on.errors`), but an error wrapped in Hibernate's TransactionException
  ("Unable to commit against JDBC Connection") is not one it recognises. Restarted, the task reads
  on from its committed offsets and upserts again what it had written: the same row.
- A source task whose producer could not send because Kafka was away, or had no leader for the
  topic yet: Connect gives up a send after `max.block.ms` (1 s here, so that a task can stop at
  once) and fails the task for good. Most such failures hit a task that a rebalance was already
  replacing; in CI one hit the live task of the outbox connector right after Kafka came back, and
  no event moved for the rest of the run. Restarted, the task resumes from its committed binlog
  position; what it sends again, the inbox turns into no-ops.

Any other failure of a source (a purged binlog, say) stays failed and loud until someone looks
(docs/reliability.md). Restarts back off, 5 s doubling to 5 minutes, so that a task that fails
for good is not restarted in a tight loop; /healthz answers while the loop runs, with the restarts
made so far.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Collection
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import structlog
from pydantic_settings import BaseSettings, SettingsConfigDict

from chassis.logs import configure_logging
from deploy import parts

log = structlog.get_logger()


class RestarterSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RESTARTER_")

    connect_url: str = parts.CONNECT.url
    http_host: str = "127.0.0.1"
    http_port: int = parts.CONNECTOR_RESTARTER.port
    interval_s: float = 5.0
    first_backoff_s: float = 5.0
    max_backoff_s: float = 300.0
    log_level: str = "info"


# How long a restarted task must run before its backoff starts over: a task that fails again a
# few seconds after each start (its topic gone for good, say) is seen RUNNING in between.
HEALTHY_S = 60.0


@dataclass
class Backoff:
    """When a connector's failed task may be restarted next, and how long after that."""

    first_s: float
    max_s: float
    next_at: float = 0.0
    delay_s: float = field(default=0.0)
    running_since: float | None = None

    def due(self, now: float) -> bool:
        return now >= self.next_at

    def restarted(self, now: float) -> None:
        self.delay_s = min(self.max_s, self.delay_s * 2 if self.delay_s else self.first_s)
        self.next_at = now + self.delay_s
        self.running_since = None

    def running(self, now: float) -> None:
        """Seen running: once for long enough, the next failure is restarted at once again."""
        if self.running_since is None:
            self.running_since = now
        if now - self.running_since >= max(HEALTHY_S, self.delay_s):
            self.delay_s, self.next_at = 0.0, 0.0


# The producer's errors that say Kafka was away or moving a partition, not that a record is wrong.
KAFKA_AWAY = (
    "TimeoutException",
    "NetworkException",
    "DisconnectException",
    "NotLeaderOrFollowerException",
    "NotEnoughReplicasException",
    "NotEnoughReplicasAfterAppendException",
)
PRODUCER_SEND_FAILED = "Unrecoverable exception from producer send callback"
# A cause line names the exception, then its message after a colon, or nothing when it has none.
KAFKA_AWAY_CAUSE = re.compile(
    rf"Caused by: org\.apache\.kafka\.common\.errors\.({'|'.join(KAFKA_AWAY)})(:|$)"
)


def failed_traces(status: dict[str, Any]) -> list[str]:
    """Each FAILED task's trace, from GET /connectors/{name}/status."""
    return [
        task.get("trace") or "no trace"
        for task in status.get("tasks", [])
        if task["state"] == "FAILED"
    ]


def causes(trace: str) -> str:
    """A trace's exception and its causes, without the stack frames."""
    return " / ".join(line for line in trace.splitlines() if not line.startswith("\t"))[:500]


def heals_with_a_restart(connector_type: str, trace: str) -> bool:
    """Any failure of a sink; a source's only when its producer could not reach Kafka."""
    if connector_type == "sink":
        return True
    lines = trace.splitlines()
    return (
        bool(lines)
        and PRODUCER_SEND_FAILED in lines[0]
        and any(KAFKA_AWAY_CAUSE.match(line) for line in lines)
    )


class Restarter:
    def __init__(self, settings: RestarterSettings) -> None:
        self.settings = settings
        self.backoffs: dict[str, Backoff] = {}
        self.restarts = 0

    def check(self, client: httpx.Client, now: float) -> None:
        """Every registered connector, as GET /connectors?expand=status&expand=info shows it."""
        answer = client.get("/connectors", params=[("expand", "status"), ("expand", "info")])
        answer.raise_for_status()
        connectors = answer.json()
        if connectors:  # none: a worker that has not read its configs yet, maybe
            self.forget_all_but(connectors)
        for name, described in connectors.items():
            backoff = self.backoffs.setdefault(
                name, Backoff(self.settings.first_backoff_s, self.settings.max_backoff_s)
            )
            failed = failed_traces(described["status"])
            if not failed:
                backoff.running(now)
                continue
            kind = described["info"]["type"]
            if not backoff.due(now) or not all(heals_with_a_restart(kind, t) for t in failed):
                continue
            client.post(
                f"/connectors/{name}/restart", params={"includeTasks": "true", "onlyFailed": "true"}
            ).raise_for_status()
            backoff.restarted(now)
            self.restarts += 1
            log.warning(
                "failed task restarted",
                connector=name,
                error=causes(failed[0]),
                next_restart_after_s=backoff.delay_s,
            )

    def forget_all_but(self, registered: Collection[str]) -> None:
        """Drops the backoff of each connector deleted since (a test's scratch one, say): it is
        not kept for good, and one registered again under its name starts from the first delay."""
        for name in self.backoffs.keys() - set(registered):
            del self.backoffs[name]

    def run(self) -> None:
        with httpx.Client(base_url=self.settings.connect_url, timeout=10) as client:
            while True:
                try:
                    self.check(client, time.monotonic())
                except httpx.HTTPError as error:  # Connect restarting: asked again next round
                    log.info("kafka connect not answering", error=str(error))
                time.sleep(self.settings.interval_s)


def serve_health(settings: RestarterSettings, restarter: Restarter) -> None:
    class Health(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            found = self.path == "/healthz"
            body = f"restarts {restarter.restarts}\n".encode() if found else b"not found\n"
            self.send_response(200 if found else 404)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return  # health checks are not worth a log line each

    server = ThreadingHTTPServer((settings.http_host, settings.http_port), Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()


def main() -> None:
    settings = RestarterSettings()
    configure_logging(settings.log_level)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per status check otherwise
    restarter = Restarter(settings)
    serve_health(settings, restarter)
    log.info("restarter started", connect_url=settings.connect_url)
    restarter.run()


if __name__ == "__main__":
    main()
