"""The consumer's endpoint answers 503 while it is not ready, metrics and all: `make status` and
compose's health check see it, and the metrics still say why."""

from __future__ import annotations

from collections.abc import Callable
from wsgiref.types import WSGIEnvironment
from wsgiref.util import setup_testing_defaults

from prometheus_client import make_wsgi_app

from subscribe_service.entrypoints.metrics_endpoint import ExcInfo, unavailable_unless


def get_metrics(ready: bool) -> tuple[str, bytes]:
    environ: WSGIEnvironment = {"PATH_INFO": "/metrics"}
    setup_testing_defaults(environ)
    statuses: list[str] = []

    def start_response(
        status: str, headers: list[tuple[str, str]], exc_info: ExcInfo | None = None, /
    ) -> Callable[[bytes], object]:
        statuses.append(status)
        return lambda data: None

    body = unavailable_unless(lambda: ready, make_wsgi_app())(environ, start_response)
    return statuses[0], b"".join(body)


def test_a_ready_consumer_answers_200_with_its_metrics() -> None:
    status, body = get_metrics(ready=True)
    assert status.startswith("200")
    assert b"# HELP" in body


def test_a_consumer_that_is_not_ready_answers_503_with_its_metrics() -> None:
    status, body = get_metrics(ready=False)
    assert status.startswith("503")
    assert b"# HELP" in body
