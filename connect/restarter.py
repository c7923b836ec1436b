"""Restarts the read model sink's task when it FAILED: `python -m connect.restarter`.

Kafka Connect never restarts a failed task by itself, and Debezium's JDBC sink fails its task when
the subscribe database goes away in the middle of a commit: it retries a lost connection
(`connection.restart.on.errors`), but an error wrapped in Hibernate's TransactionException ("Unable
to commit against JDBC Connection") is not one it recognises. Restarted, the task reads on from
its committed offsets and upserts again what it had written: harmless, since the same upsert
twice leaves the same row. (Strimzi's `autoRestart` does this for a KafkaConnector.)

Only the sink: a source that FAILED (a purged binlog, say) must stay failed and loud until someone
looks (docs/reliability.md). Restarts back off, 5 s doubling to 5 minutes, so that a sink that
fails for good is not restarted in a tight loop; /healthz answers while the loop runs, with the
restarts made so far.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import structlog
from pydantic_settings import BaseSettings, SettingsConfigDict

from chassis.logs import configure_logging
from connect.connector import READ_MODEL_SINK
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


@dataclass
class Backoff:
    """When a connector's failed task may be restarted next, and how long after that."""

    first_s: float
    max_s: float
    next_at: float = 0.0
    delay_s: float = field(default=0.0)

    def due(self, now: float) -> bool:
        return now >= self.next_at

    def restarted(self, now: float) -> None:
        self.delay_s = min(self.max_s, self.delay_s * 2 if self.delay_s else self.first_s)
        self.next_at = now + self.delay_s

    def running(self) -> None:
        self.delay_s, self.next_at = 0.0, 0.0


def failed_tasks(status: dict[str, Any]) -> list[str]:
    """The first line of each FAILED task's trace, from GET /connectors/{name}/status."""
    return [
        (task.get("trace") or "no trace").splitlines()[0]
        for task in status.get("tasks", [])
        if task["state"] == "FAILED"
    ]


class Restarter:
    def __init__(self, settings: RestarterSettings, connectors: tuple[str, ...]) -> None:
        self.settings = settings
        self.backoffs = {
            name: Backoff(settings.first_backoff_s, settings.max_backoff_s) for name in connectors
        }
        self.restarts = 0

    def check(self, client: httpx.Client, now: float) -> None:
        for name, backoff in self.backoffs.items():
            answer = client.get(f"/connectors/{name}/status")
            if answer.status_code == 404:
                continue  # not registered (yet)
            failed = failed_tasks(answer.json())
            if not failed:
                backoff.running()
                continue
            if not backoff.due(now):
                continue
            client.post(
                f"/connectors/{name}/restart", params={"includeTasks": "true", "onlyFailed": "true"}
            ).raise_for_status()
            backoff.restarted(now)
            self.restarts += 1
            log.warning(
                "failed task restarted",
                connector=name,
                error=failed[0],
                next_restart_after_s=backoff.delay_s,
            )

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
    restarter = Restarter(settings, (READ_MODEL_SINK,))
    serve_health(settings, restarter)
    log.info("restarter started", connectors=list(restarter.backoffs))
    restarter.run()


if __name__ == "__main__":
    main()
