"""The ceiling: the post + outbox transaction through bare PyMySQL, no HTTP, no ORM.

`python -m loadtest.ceiling --connections 4 --duration 10` runs the very statements the post
service runs in `cdc` mode (insert the post, insert the outbox row, delete it, commit) from N
threads, each with its own connection, as fast as they go. The post service's sustained rate is
reported against this figure, measured in the same run on the same machine.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
import uuid
from datetime import UTC, datetime

import pymysql

from loadtest.__main__ import load_native_secrets
from post_service.settings import Settings

INSERT_POST = (
    "INSERT INTO posts (author_id, title, content, created_at, event_id)"
    " VALUES (%s, %s, %s, %s, %s)"
)
AUTHOR = 9_000_000_000_000_000_000  # an author nobody subscribes to
INSERT_EVENT = (
    "INSERT INTO post_event_outbox (id, aggregatetype, aggregateid, type, payload, created_at)"
    " VALUES (%s, 'post', %s, 'PostCreated', %s, %s)"
)
DELETE_EVENT = "DELETE FROM post_event_outbox WHERE id = %s"


def transactions(settings: Settings, until: float, counts: list[int], slot: int) -> None:
    connection = pymysql.connect(
        host=settings.db_host,
        port=settings.db_port,
        user=settings.service_db_user,
        password=settings.service_db_password.get_secret_value(),
        database=settings.db_name,
        charset="utf8mb4",
        autocommit=False,
    )
    with connection, connection.cursor() as cursor:
        while time.monotonic() < until:
            moment = datetime.now(UTC)
            now, event_id = moment.replace(tzinfo=None), str(uuid.uuid4())
            cursor.execute(INSERT_POST, (AUTHOR, "ceiling", "bare PyMySQL", now, event_id))
            # A real PostCreated: Debezium publishes it like any other; nobody subscribes to AUTHOR.
            payload = json.dumps(
                {
                    "post_id": cursor.lastrowid,
                    "author_id": AUTHOR,
                    "title": "ceiling",
                    "created_at": moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                }
            )
            cursor.execute(INSERT_EVENT, (event_id, str(cursor.lastrowid), payload, now))
            cursor.execute(DELETE_EVENT, (event_id,))
            connection.commit()
            counts[slot] += 1


def measure(connections: int, duration_s: float) -> float:
    """Transactions per second over the run."""
    settings = Settings()
    counts = [0] * connections
    started = time.monotonic()
    threads = [
        threading.Thread(target=transactions, args=(settings, started + duration_s, counts, i))
        for i in range(connections)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / (time.monotonic() - started)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest.ceiling", description=__doc__)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--duration", type=float, default=10)
    args = parser.parse_args()
    load_native_secrets()
    rate = measure(args.connections, args.duration)
    print(f"bare PyMySQL, {args.connections} connections: {rate:.0f} transactions/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
