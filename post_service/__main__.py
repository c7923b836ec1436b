"""The post service's processes: `python -m post_service [api|relay]` (api by default)."""

from __future__ import annotations

import argparse
import os
from datetime import datetime

from chassis.api import serve
from chassis.logs import configure_logging
from post_service.bootstrap import bootstrap, bootstrap_relay
from post_service.entrypoints import relay
from post_service.service.posts import resend_events
from post_service.settings import RelayMode, RelaySettings, Settings


def instant(text: str) -> datetime:
    """An ISO 8601 instant; one without a UTC offset is refused, not read as local time."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no UTC offset: add Z or +00:00")
    return moment


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m post_service")
    parser.add_argument(
        "process",
        nargs="?",
        default="api",
        choices=["api", "relay", "reconcile"],
        help="api: the HTTP API; relay: the polling relay (relay mode `polling`); "
        "reconcile: send again the events of the posts created since --since",
    )
    parser.add_argument(
        "--since",
        type=instant,
        help="with reconcile: ISO 8601 with its UTC offset, e.g. 2026-11-21T10:00:00Z. A post's"
        " created_at is taken when its transaction begins: reach back further than the longest"
        " transaction before the trouble began (a minute is plenty; a duplicate costs nothing)",
    )
    arguments = parser.parse_args()
    if arguments.process == "reconcile":
        if arguments.since is None:
            parser.error("reconcile needs --since")
        settings = Settings(_env_file=os.environ.get("POST_SETTINGS_FILE"))
        if settings.relay_mode == RelayMode.DIRECT:
            parser.error("relay mode `direct` has no outbox to send events again through")
        configure_logging(settings.log_level)
        resent = resend_events(bootstrap(settings).unit_of_work, arguments.since)
        print(f"{resent} events of posts created since {arguments.since.isoformat()} sent again")
        return
    if arguments.process == "relay":
        relay_settings = RelaySettings(_env_file=os.environ.get("POST_SETTINGS_FILE"))
        configure_logging()
        relay.run(relay_settings, bootstrap_relay(relay_settings))
        return
    settings = Settings(_env_file=os.environ.get("POST_SETTINGS_FILE"))
    configure_logging(settings.log_level)
    serve(
        "post_service.entrypoints.app:create_app_from_environment",
        host=settings.http_host,
        port=settings.http_port,
        log_level=settings.log_level,
        workers=settings.http_workers,
    )


if __name__ == "__main__":
    main()
