"""The subscribe service's processes and tools: `python -m subscribe_service --help`."""

from __future__ import annotations

import argparse
from collections import Counter

import httpx

from chassis.api import serve
from chassis.logs import configure_logging
from subscribe_service.adapters.group_offsets import accept_gaps, rewind_to_earliest
from subscribe_service.bootstrap import bootstrap_consumer, bootstrap_dispatcher
from subscribe_service.entrypoints import consumer, dispatcher
from subscribe_service.settings import Settings


def serve_api(settings: Settings) -> None:
    configure_logging(settings.log_level)
    serve(
        "subscribe_service.entrypoints.api:create_app_from_environment",
        host=settings.http_host,
        port=settings.http_port,
        log_level=settings.log_level,
    )


def replay(settings: Settings) -> None:
    for partition in rewind_to_earliest(settings):
        print(f"{partition.topic}[{partition.partition}] rewound to offset {partition.offset}")


def accept_gap(settings: Settings) -> None:
    """After the consumer stopped on offsets out of range: move them on, and say what was lost."""
    gaps = accept_gaps(settings)
    for gap in gaps:
        print(gap)
    if not gaps:
        print("no gap: every committed offset lies within what the topic keeps")


def show_notifications(api_url: str, subscriber_id: int) -> None:
    """What one subscriber was told, oldest first, and whether any event came twice."""
    received = httpx.get(
        f"{api_url}/notifications", params={"subscriber_id": subscriber_id, "limit": 1000}
    ).json()
    for n in reversed(received):
        print(f"{n['notified_at']}  post {n['post_id']:<8} {n['title']}")
    per_event = Counter(n["event_id"] for n in received)
    doubled = sum(1 for count in per_event.values() if count > 1)
    print(f"{len(received)} notifications of {len(per_event)} posts, {doubled} doubled")


def show_feed(api_url: str, subscriber_id: int, newest_id: bool) -> None:
    """The subscriber's feed from the read model, newest first; or only its newest post's id."""
    entries = httpx.get(
        f"{api_url}/feed", params={"subscriber_id": subscriber_id, "limit": 1000}
    ).json()
    if newest_id:
        print(entries[0]["post_id"] if entries else "")
        return
    for e in entries:
        print(f"post {e['post_id']:<8} v{e['version']:<3} {e['title']}")
    print(f"{len(entries)} posts in the feed of subscriber {subscriber_id}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m subscribe_service")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("api", help="the HTTP API")
    commands.add_parser("consumer", help="the event consumer (scale it as a consumer group)")
    commands.add_parser("dispatcher", help="the webhook dispatcher (scale it by running more)")
    retrying = commands.add_parser("retry-dead", help="make dead webhook deliveries pending again")
    retrying.add_argument("--subscriber", type=int, default=None, help="only this subscriber's")
    commands.add_parser("replay", help="rewind the consumer group (stop the consumers first)")
    commands.add_parser(
        "accept-gap",
        help="move committed offsets the topic no longer holds to its earliest (stop the "
        "consumers first): after the consumer reported offsets out of range",
    )
    listing = commands.add_parser("notifications", help="print what one subscriber was told")
    listing.add_argument("subscriber_id", type=int)
    listing.add_argument("--api-url", default="http://127.0.0.1:8082")
    feed = commands.add_parser("feed", help="print one subscriber's feed, from the read model")
    feed.add_argument("subscriber_id", type=int)
    feed.add_argument("--newest-id", action="store_true", help="print only the newest post's id")
    feed.add_argument("--api-url", default="http://127.0.0.1:8082")
    args = parser.parse_args()
    if args.command == "notifications":
        show_notifications(args.api_url, args.subscriber_id)
        return
    if args.command == "feed":
        show_feed(args.api_url, args.subscriber_id, args.newest_id)
        return
    settings = Settings()
    match args.command:
        case "api":
            serve_api(settings)
        case "consumer":
            configure_logging(settings.log_level)
            consumer.run(bootstrap_consumer(settings))
        case "dispatcher":
            configure_logging(settings.log_level)
            dispatcher.run(bootstrap_dispatcher(settings))
        case "retry-dead":
            dispatcher.retry_dead_deliveries(settings, args.subscriber)
        case "replay":
            replay(settings)
        case "accept-gap":
            accept_gap(settings)


if __name__ == "__main__":
    main()
