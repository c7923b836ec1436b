"""The subscribe service's processes: `python -m subscribe_service api|consumer|replay`."""

from __future__ import annotations

import argparse

import uvicorn

from subscribe_service.adapters.kafka import rewind_to_earliest
from subscribe_service.bootstrap import bootstrap
from subscribe_service.entrypoints import consumer
from subscribe_service.settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m subscribe_service")
    parser.add_argument(
        "process",
        choices=["api", "consumer", "replay"],
        help="api: the HTTP API; consumer: the event consumer (scale it as a consumer group); "
        "replay: rewind the consumer group to the earliest offset (stop the consumers first)",
    )
    process = parser.parse_args().process
    settings = Settings()
    if process == "api":
        uvicorn.run(
            "subscribe_service.entrypoints.api:create_app_from_environment",
            factory=True,
            host=settings.http_host,
            port=settings.http_port,
            log_level=settings.log_level,
            access_log=False,
        )
    elif process == "consumer":
        consumer.run(bootstrap(settings))
    else:
        for partition in rewind_to_earliest(settings):
            print(f"{partition.topic}[{partition.partition}] rewound to offset {partition.offset}")


if __name__ == "__main__":
    main()
