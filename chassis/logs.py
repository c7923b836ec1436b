"""Structured logs: one JSON object per line on stdout, with the event id wherever there is one,
so one grep follows an event from the request to the notification."""

from __future__ import annotations

import logging
import sys

import structlog


def configure_logging(level: str = "info") -> None:
    """structlog's events and the standard library's records (uvicorn's, say) alike, as JSON."""
    numeric = logging.getLevelNamesMapping()[level.upper()]
    stamped: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    rendered: list[structlog.typing.Processor] = [
        structlog.processors.format_exc_info,
        structlog.processors.JSONRenderer(),
    ]
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*stamped, structlog.stdlib.add_logger_name],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *rendered],
        )
    )
    logging.basicConfig(handlers=[handler], level=numeric, force=True)
    structlog.configure(
        processors=[*stamped, *rendered],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        # One write per line, as the standard library's handler does: PrintLogger wrote the line
        # and its newline apart, and a record of the other logger could land in between.
        logger_factory=structlog.WriteLoggerFactory(sys.stdout),
        cache_logger_on_first_use=True,
    )
