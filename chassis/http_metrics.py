"""Prometheus metrics of the HTTP API: requests by route and status, and their latency."""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import cache

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send


@dataclass(frozen=True)
class HttpMetrics:
    requests: Counter
    latency: Histogram


@cache
def http_metrics(service: str) -> HttpMetrics:
    """The service's two HTTP metrics, `<service>_http_...`, registered once per process."""
    return HttpMetrics(
        Counter(f"{service}_http_requests_total", "HTTP requests", ["method", "route", "status"]),
        Histogram(
            f"{service}_http_request_duration_seconds",
            "From the request's arrival to its answer",
            ["method", "route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        ),
    )


async def metrics_endpoint(request: Request) -> Response:
    """GET /metrics: this process's metrics, in Prometheus' text format."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


class RequestMetrics:
    """Counts and times every request by its route's template (/posts/{post_id}, not the id)."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.metrics = http_metrics(service)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def recorded(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, recorded)
        finally:
            route = _route_of(scope)
            self.metrics.requests.labels(scope["method"], route, str(status)).inc()
            self.metrics.latency.labels(scope["method"], route).observe(
                time.perf_counter() - started
            )


def _route_of(scope: Scope) -> str:
    """The template of the route that answered: the router leaves it in the request's scope."""
    return str(getattr(scope.get("route"), "path", "unmatched"))
