"""The consumer's one HTTP endpoint: its Prometheus metrics, answered with 503 instead of 200 while
it is not ready, so that `make status` and compose's health check (both GET /metrics) show it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from types import TracebackType
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

from prometheus_client import start_http_server

ExcInfo = tuple[type[BaseException], BaseException, TracebackType] | tuple[None, None, None]


def serve_metrics(host: str, port: int, ready: Callable[[], bool]) -> None:
    """Serves on a thread of its own, as prometheus_client does."""
    server, _ = start_http_server(port, addr=host)
    metrics = server.get_app()
    if metrics is None:
        raise RuntimeError("prometheus_client's server came without its metrics app")
    server.set_app(unavailable_unless(ready, metrics))


def unavailable_unless(ready: Callable[[], bool], app: WSGIApplication) -> WSGIApplication:
    """The same answer, the metrics included, with the status 503 while ready() is false."""

    def answer(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if ready():
            return app(environ, start_response)

        def unavailable(
            status: str, headers: list[tuple[str, str]], exc_info: ExcInfo | None = None, /
        ) -> Callable[[bytes], object]:
            return start_response("503 Service Unavailable", headers, exc_info)

        return app(environ, unavailable)

    return answer
