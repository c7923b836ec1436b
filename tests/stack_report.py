"""What the native stack was doing when a test against it failed, for the failure's report.

CI keeps nothing but what pytest prints, and the stack is torn down after the run: a test that
fails there must carry the evidence with it. This gathers what tells where a message stopped:
each part's state, each connector task's state and error, how far the consumer group is behind
the events topic, and the last errors of the parts that move messages.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from confluent_kafka import Consumer, TopicPartition

from connect.restarter import causes
from deploy import parts
from deploy.native.layout import Layout
from subscribe_service.adapters.group_offsets import committed_offsets, watermarks
from subscribe_service.settings import Settings

LOGS_SCANNED = ("subscribe-consumer", "connect", "kafka", "post-service", "connector-restarter")
ERRORS_PER_LOG = 8
TAIL_BYTES = 400_000  # of each log, read from its end
LINE_CHARS = 400
REPORT_LIMIT_S = 90.0
NUMBERS = re.compile(r"\d+")


def stack_report() -> str:
    """The report, gathered in a process of its own within REPORT_LIMIT_S: a part that hangs
    costs the report, never the test's own failure or the rest of the run."""
    try:
        done = subprocess.run(
            [sys.executable, "-m", "tests.stack_report"],
            capture_output=True,
            text=True,
            timeout=REPORT_LIMIT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"(not gathered within {REPORT_LIMIT_S:g} s)"
    return (done.stdout + done.stderr).strip()


def gather() -> str:
    """Every section, each one on its own: a part that does not answer spoils only its own."""
    sections: list[tuple[str, Callable[[], str]]] = [
        ("parts", _parts),
        ("connector tasks", _connector_tasks),
        ("consumer group against the events topic", _consumer_lag),
        ("last errors and warnings", _last_errors),
    ]
    out = []
    for title, gather in sections:
        try:
            body = gather()
        except Exception as error:  # the report must not hide the test's failure
            body = f"(could not gather: {type(error).__name__}: {error})"
        out.append(f"--- {title}\n{body}")
    return "\n".join(out)


def _parts() -> str:
    done = subprocess.run(
        [sys.executable, "-m", "deploy.native", "status"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return (done.stdout + done.stderr).strip()


def _connector_tasks() -> str:
    found = httpx.get(f"{parts.CONNECT.url}/connectors?expand=status", timeout=5).json()
    lines = []
    for name, described in sorted(found.items()):
        status = described["status"]
        connector = status["connector"]
        lines.append(f"{name}: {connector['state']} on {connector['worker_id']}")
        for task in status["tasks"]:
            lines.append(f"  task {task['id']}: {task['state']} {causes(task.get('trace') or '')}")
    return "\n".join(lines)


def _consumer_lag() -> str:
    """Behind with young events: the consumer stalled. Caught up, with the newest event older
    than the test's posts: Debezium (or Kafka) stopped publishing."""
    settings = Settings()
    ends = watermarks(settings)
    committed = committed_offsets(settings, sorted(ends), timeout_s=10)
    lines = []
    for p, (earliest, end) in sorted(ends.items()):
        behind = end - committed[p] if committed.get(p, -1) >= 0 else "all"
        age = _newest_event_age_s(settings, p, end) if end > earliest else None
        newest = f"the newest {age:.0f}s old" if age is not None else "no event"
        lines.append(
            f"{settings.events_topic}[{p}]: committed {committed.get(p)}, end {end}, "
            f"behind {behind}, {newest}"
        )
    return "\n".join(lines)


def _newest_event_age_s(settings: Settings, partition: int, end: int) -> float | None:
    reader = Consumer(
        {
            "bootstrap.servers": settings.kafka_bootstrap_servers,
            "group.id": "stack-report",
            "enable.auto.commit": False,
        }
    )
    try:
        reader.assign([TopicPartition(settings.events_topic, partition, end - 1)])
        message = reader.poll(5)
        if message is None or message.error():
            return None
        _, timestamp_ms = message.timestamp()
        return time.time() - timestamp_ms / 1000
    finally:
        reader.close()


def _last_errors() -> str:
    logs = Layout.from_env().logs
    lines = []
    for name in LOGS_SCANNED:
        found = _errors_in(logs / f"{name}.log")
        lines.append(f"{name}: {len(found)} shown" if found else f"{name}: none")
        lines.extend(f"  {line[:LINE_CHARS]}" for line in found)
    return "\n".join(lines)


def _errors_in(log: Path) -> list[str]:
    if not log.exists():
        return []
    with log.open("rb") as f:
        start = max(0, log.stat().st_size - TAIL_BYTES)
        f.seek(start)
        tail = f.read().decode("utf-8", "replace").splitlines()[1 if start else 0 :]
    errors = [line for line in tail if any(m in line for m in ("ERROR", "WARN", '"error"'))]
    # librdkafka repeats one error many times a second while Kafka is away: of lines that differ
    # only in their numbers (times, offsets), the last one is enough.
    last_of_each: dict[str, str] = {}
    for line in reversed(errors):
        last_of_each.setdefault(NUMBERS.sub("#", line), line)
    return list(last_of_each.values())[:ERRORS_PER_LOG][::-1]


if __name__ == "__main__":
    import tests.conftest  # noqa: F401 - the native stack's passwords, as the tests have them

    print(gather())
