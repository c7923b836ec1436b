"""Load shedding: a bounded number of requests in progress, and an immediate 503 with
Retry-After for the rest, so that the requests a service takes keep a bounded latency instead
of queueing without bound (and timing out on the client, their outcome unknown)."""

from __future__ import annotations

from collections.abc import Sequence

import orjson
from prometheus_client import Counter
from starlette.types import ASGIApp, Receive, Scope, Send

SHED = Counter("http_requests_shed_total", "Requests answered 503 at once: too many in progress")


class InFlightLimit:
    """At most max_in_flight requests of the paths it guards are in progress at once."""

    def __init__(
        self, app: ASGIApp, max_in_flight: int, guards: Sequence[str], retry_after_s: int = 1
    ) -> None:
        self.app = app
        self.max_in_flight = max_in_flight
        self.retry_after_s = retry_after_s
        self.guards = tuple(guards)  # path prefixes: health checks and metrics always answer
        self.in_flight = 0  # one event loop per process: no lock needed between awaits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.guards):
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.max_in_flight:
            SHED.inc()
            await self.shed(send)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1

    async def shed(self, send: Send) -> None:
        body = orjson.dumps(
            {"detail": "too many requests in progress; nothing was stored, try again shortly"}
        )
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"retry-after", str(self.retry_after_s).encode()),
        ]
        await send({"type": "http.response.start", "status": 503, "headers": headers})
        await send({"type": "http.response.body", "body": body})
