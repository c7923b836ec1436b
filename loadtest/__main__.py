"""`python -m loadtest --rate 100 --duration 30 --subscribers 1 --fault kafka@10s+20s`"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from deploy import parts
from deploy.native.layout import Layout, read_env_file
from loadtest.faults import Fault
from loadtest.report import chart, table, write_json
from loadtest.run import Scenario, perform
from subscribe_service.adapters.kafka import AFTER_KAFKA_RESTART_S

REPORTS = Path(__file__).resolve().parents[1] / "reports"


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m loadtest", description=__doc__)
    parser.add_argument("--rate", type=float, default=10, help="posts per second (default 10)")
    parser.add_argument("--duration", type=float, default=30, help="seconds of load (default 30)")
    parser.add_argument("--authors", type=int, default=10, help="authors posting (default 10)")
    parser.add_argument("--subscribers", type=int, default=1, help="subscribers per author")
    parser.add_argument(
        "--fault", type=Fault.parse, action="append", default=[], help="e.g. kafka@10s+20s"
    )
    parser.add_argument("--post-url", default=parts.POST_SERVICE.url)
    parser.add_argument("--subscribe-url", default=parts.SUBSCRIBE_API.url)
    parser.add_argument(
        "--drain-timeout",
        type=float,
        default=AFTER_KAFKA_RESTART_S,
        help=f"seconds (default {AFTER_KAFKA_RESTART_S:g}: the consumer's worst recovery from a "
        "Kafka restart)",
    )
    parser.add_argument("--report", type=Path, default=REPORTS / "loadtest-latest.json")
    parser.add_argument("--chart", type=Path, default=REPORTS / "loadtest-latest.png")
    parser.add_argument(
        "--fail-on-loss",
        action="store_true",
        help="exit 1 if a post, an edit or a deletion was lost, a post doubled, a post's events"
        " applied out of order, or a webhook did not reach the receiver",
    )
    parser.add_argument(
        "--no-webhooks",
        dest="webhooks",
        action="store_false",
        help="register no webhook endpoint: measure at the notifications table only",
    )
    parser.add_argument(
        "--edit-share",
        type=float,
        default=0.0,
        help="edits of the run's posts per post created (default 0); each raises a version",
    )
    parser.add_argument(
        "--delete-share",
        type=float,
        default=0.0,
        help="deletions of the run's posts per post created (default 0)",
    )
    parser.add_argument(
        "--receiver-fail-share",
        type=float,
        default=0.5,
        help="share of requests a receiver-errors or -timeouts fault fails (default 0.5)",
    )
    parser.add_argument(
        "--receiver-host",
        default=parts.WEBHOOK_RECEIVERS_HOST,
        help="where the webhook receiver listens: an address the dispatchers reach and may send to",
    )
    return parser.parse_args()


def load_native_secrets() -> None:
    """On the native stack the audit reads the database with the generated password."""
    secrets = Layout.from_env().secrets
    if secrets.exists():
        for name, value in read_env_file(secrets).items():
            os.environ.setdefault(name, value)


def main() -> int:
    args = arguments()
    load_native_secrets()
    scenario = Scenario(
        rate=args.rate,
        duration_s=args.duration,
        authors=args.authors,
        subscribers=args.subscribers,
        faults=args.fault,
        post_url=args.post_url,
        subscribe_url=args.subscribe_url,
        drain_timeout_s=args.drain_timeout,
        webhooks=args.webhooks,
        receiver_fail_share=args.receiver_fail_share,
        receiver_host=args.receiver_host,
        edit_share=args.edit_share,
        delete_share=args.delete_share,
    )
    finished = perform(scenario)
    summary = finished.summary()
    print(table(summary))
    write_json(summary, args.report)
    chart(finished, args.chart)
    print(f"report: {args.report}\nchart:  {args.chart}")
    return 1 if args.fail_on_loss and failed(summary) else 0


def failed(summary: dict[str, Any]) -> bool:
    hooks = summary["webhooks"]
    at_receiver = hooks is not None and not hooks["exactly_once_after_dedupe"]
    return bool(
        summary["lost"]
        or summary["duplicated"]
        or summary["doubled_posts"]
        or summary["order_violations"]
        or summary["changes_lost"]
        or (summary["read_model"] is not None and summary["read_model"]["converged_s"] is None)
        or at_receiver
    )


if __name__ == "__main__":
    sys.exit(main())
