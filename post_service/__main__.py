"""The post service's processes: `python -m post_service [api|relay]` (api by default)."""

from __future__ import annotations

import argparse
import os

import uvicorn

from post_service.entrypoints import relay
from post_service.logs import configure_logging
from post_service.settings import RelaySettings, Settings


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m post_service")
    parser.add_argument(
        "process",
        nargs="?",
        default="api",
        choices=["api", "relay"],
        help="api: the HTTP API; relay: the polling relay (relay mode `polling`)",
    )
    if parser.parse_args().process == "relay":
        relay_settings = RelaySettings(_env_file=os.environ.get("POST_SETTINGS_FILE"))
        configure_logging()
        relay.run(relay_settings)
        return
    settings = Settings(_env_file=os.environ.get("POST_SETTINGS_FILE"))
    uvicorn.run(
        "post_service.entrypoints.app:create_app_from_environment",
        factory=True,
        host=settings.http_host,
        port=settings.http_port,
        workers=settings.http_workers,
        log_level=settings.log_level,
        access_log=False,
    )


if __name__ == "__main__":
    main()
