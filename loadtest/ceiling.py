"""The ceiling: the post + outbox transaction through bare PyMySQL, no HTTP, no ORM.

`python -m loadtest.ceiling --connections 4 --duration 10` runs the very statements the post
service runs in `cdc` mode (insert the post, insert the outbox row, delete it, commit; the
DELETE's WHERE an IN of one id) from N threads, each with its own connection, as fast as they
go. The post service's sustained rate is reported against this figure, measured in the same run
on the same machine.

`--posts-per-transaction 8` stores 8 posts per transaction instead (their rows in one INSERT
each, their outbox rows deleted in one statement): how far group commit could take the rate.
`--through-the-service` stores them through the post service's use case instead (its unit of
work, SQLAlchemy's pool and connection), without HTTP. Each run also reports the CPU per post
this process spent, and the post database (the native stack's, from /proc).
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from datetime import UTC, datetime

import pymysql

from loadtest import cpu
from loadtest.__main__ import load_native_secrets
from post_service.bootstrap import Bootstrapped, bootstrap
from post_service.domain.posts import NewPost, new_event_id
from post_service.service import posts
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
DELETE_EVENTS = "DELETE FROM post_event_outbox WHERE id IN %s"


def transactions(
    settings: Settings,
    until: float,
    counts: list[int],
    slot: int,
    posts_per_transaction: int = 1,
    interval_s: float = 0.0,
) -> None:
    """Transactions until `until`, one every interval_s at most (0: as fast as they go)."""
    connection = pymysql.connect(
        host=settings.db_host,
        port=settings.db_port,
        user=settings.service_db_user,
        password=settings.service_db_password.get_secret_value(),
        database=settings.db_name,
        charset="utf8mb4",
        autocommit=False,
    )
    due = time.monotonic()
    with connection, connection.cursor() as cursor:
        while time.monotonic() < until:
            due += interval_s
            time.sleep(max(0.0, due - time.monotonic()))
            moment = datetime.now(UTC)
            now = moment.replace(tzinfo=None)
            event_ids = [str(new_event_id()) for _ in range(posts_per_transaction)]
            cursor.executemany(
                INSERT_POST,
                [(AUTHOR, "ceiling", "bare PyMySQL", now, event_id) for event_id in event_ids],
            )
            # The first id of a multi-row INSERT, whose rows InnoDB numbers consecutively with
            # innodb_autoinc_lock_mode 1 (MariaDB's default; MySQL 8's, 2, does not promise it).
            first_id = cursor.lastrowid
            # A real PostCreated: Debezium publishes it like any other; nobody subscribes to AUTHOR.
            created_at = moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            cursor.executemany(
                INSERT_EVENT,
                [
                    (event_id, str(post_id), json.dumps(
                        {"post_id": post_id, "author_id": AUTHOR, "title": "ceiling",
                         "created_at": created_at}
                    ), now)
                    for post_id, event_id in enumerate(event_ids, start=first_id)
                ],
            )  # fmt: skip
            cursor.execute(DELETE_EVENTS, (event_ids,))
            connection.commit()
            counts[slot] += posts_per_transaction


def _through_the_service(deps: Bootstrapped, until: float, counts: list[int], slot: int) -> None:
    while time.monotonic() < until:
        posts.create_post(deps.unit_of_work, NewPost(AUTHOR, "ceiling", "through the use case"))
        counts[slot] += 1


def measure(
    connections: int,
    duration_s: float,
    posts_per_transaction: int = 1,
    through_the_service: bool = False,
    rate: float | None = None,
) -> float:
    """Posts per second over the run (transactions per second, with one post per transaction).
    With a rate, the bare transactions are paced to make that many posts a second together."""
    interval_s = connections * posts_per_transaction / rate if rate else 0.0
    settings = Settings()
    deps = bootstrap(settings) if through_the_service else None
    counts = [0] * connections
    started = time.monotonic()
    threads = [
        threading.Thread(target=_through_the_service, args=(deps, started + duration_s, counts, i))
        if deps is not None
        else threading.Thread(
            target=transactions,
            args=(settings, started + duration_s, counts, i, posts_per_transaction, interval_s),
        )
        for i in range(connections)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    posts_per_s = sum(counts) / (time.monotonic() - started)
    if deps is not None:
        deps.close()
    return posts_per_s


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest.ceiling", description=__doc__)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--posts-per-transaction", type=int, default=1)
    parser.add_argument("--through-the-service", action="store_true")
    parser.add_argument("--rate", type=float, help="posts/s in all (bare only; default: no limit)")
    args = parser.parse_args()
    load_native_secrets()
    post_db = cpu.native_parts()["post-db"]
    cpu_before, post_db_before = time.process_time(), cpu.ticks(post_db)
    rate = measure(
        args.connections,
        args.duration,
        args.posts_per_transaction,
        args.through_the_service,
        args.rate,
    )
    posts_stored = rate * args.duration
    cpu_ms_per_post = (time.process_time() - cpu_before) * 1000 / posts_stored
    post_db_ms_per_post = (cpu.ticks(post_db) - post_db_before) * cpu.MS_PER_TICK / posts_stored
    how = (
        "through the post service's use case"
        if args.through_the_service
        else f"bare PyMySQL, {args.posts_per_transaction} post(s) per transaction"
    )
    print(
        f"{how}, {args.connections} connection(s): {rate:.0f} posts/s,"
        f" ms of CPU per post: this process {cpu_ms_per_post:.3f},"
        f" the post database {post_db_ms_per_post:.3f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
