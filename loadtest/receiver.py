"""The load test's own webhook receiver: a real HTTP server (aiohttp, in the run's event loop, on
127.0.0.2, where the native stack lets webhooks go) that every subscriber of the run registers as
its endpoint. It does what a subscriber's receiver must: it verifies each request with the
`standardwebhooks` package, with the secret of the subscriber its path names (each subscriber
has its own), and processes each `webhook-id` once. It counts what arrives: each (event,
subscriber) pair, when it first arrived, how many deliveries came again after one had been
answered 2xx (what the dedupe absorbed), and what must never happen: a delivery at another
subscriber's path, or one sent again with other bytes.

It misbehaves on a schedule (`receiver@10s+30s` in the run's faults):
- `receiver`: down; it stops listening and drops the connections it has, so the dispatcher meets
  refused and reset connections;
- `receiver-errors`: answers 500 to a share of the requests (`fail_share`);
- `receiver-timeouts`: holds a share of the requests past the dispatcher's attempt timeout.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import secrets
import time
from collections import Counter
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from aiohttp import web
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from deploy import parts
from subscribe_service.domain.webhooks import generate_secret

# Past the dispatcher's attempt timeout (SUBSCRIBE_DISPATCHER_ATTEMPT_TIMEOUT_S, 20 s by default).
HOLD_S: Final = 25.0


class Mishap(StrEnum):
    DOWN = "receiver"
    ERRORS = "receiver-errors"
    TIMEOUTS = "receiver-timeouts"


@dataclass(frozen=True)
class Arrival:
    """The first delivery of one (event, subscriber) pair that the receiver answered 2xx."""

    event_id: str
    subscriber_id: int
    at_monotonic: float


LISTEN_BACKLOG = 1024


class Receiver:
    def __init__(self, fail_share: float = 0.5, host: str = parts.WEBHOOK_RECEIVERS_HOST) -> None:
        self.fail_share = fail_share
        self.host = host
        self.port = 0  # chosen by the system at the first start, kept across a down window
        self.webhooks: dict[int, Webhook] = {}  # subscriber -> its secret's verifier
        self.mishap: Mishap | None = None
        self.rng = random.Random(secrets.randbits(64))
        self.arrivals: dict[str, Arrival] = {}  # webhook-id -> the first one answered 2xx
        self.digests: dict[str, bytes] = {}  # webhook-id -> the hash of the bytes it carried
        self.again = 0  # deliveries of a webhook-id already answered 2xx: absorbed by the dedupe
        self.answered: Counter[int] = Counter()  # status -> how many requests got it
        self.unverified = 0
        self.misrouted = 0  # at one subscriber's path, for another subscriber
        self.changed = 0  # a webhook-id sent again with other bytes
        app = web.Application()
        app.router.add_post(r"/hooks/{subscriber_id:\d+}", self.handle)
        self.runner = web.AppRunner(app, handle_signals=False, access_log=None)
        self.site: web.TCPSite | None = None

    @property
    def url_base(self) -> str:
        return f"http://{self.host}:{self.port}/hooks"

    def url_for(self, subscriber_id: int) -> str:
        return f"{self.url_base}/{subscriber_id}"

    def secret_for(self, subscriber_id: int) -> str:
        """A secret of the subscriber's own, made at its first registration."""
        secret = generate_secret()
        self.webhooks[subscriber_id] = Webhook(secret)
        return secret

    async def start(self) -> None:
        await self.runner.setup()
        await self.listen()

    async def stop(self) -> None:
        await self.runner.cleanup()

    async def listen(self) -> None:
        # aiohttp's default backlog (128) is less than the dispatcher's connections: the SYNs
        # past it are dropped and sent again a second later, a stall measured as the sender's.
        self.site = web.TCPSite(
            self.runner, self.host, self.port, reuse_address=True, backlog=LISTEN_BACKLOG
        )
        await self.site.start()
        self.port = self.runner.addresses[0][1]

    async def misbehave(self, mishap: Mishap) -> None:
        self.mishap = mishap
        if mishap is Mishap.DOWN and self.site is not None:
            await self.site.stop()
            self.site = None

    async def recover(self) -> None:
        if self.mishap is Mishap.DOWN:
            await self.listen()
        self.mishap = None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if self.mishap is Mishap.DOWN:  # a keep-alive connection opened before the window
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=503)  # never sent: the connection is gone
        received = await request.read()
        webhook = self.webhooks.get(int(request.match_info["subscriber_id"]))
        try:
            if webhook is None:
                raise WebhookVerificationError("no such subscriber")
            notification = webhook.verify(received, dict(request.headers))
        except WebhookVerificationError:
            self.unverified += 1
            return self.answer(401)
        if self.mishap is not None and self.rng.random() < self.fail_share:
            if self.mishap is Mishap.TIMEOUTS:
                await asyncio.sleep(HOLD_S)
            return self.answer(500)
        data = notification["data"]
        if int(data["subscriber_id"]) != int(request.match_info["subscriber_id"]):
            self.misrouted += 1
        webhook_id = request.headers["webhook-id"]
        digest = hashlib.sha256(received).digest()
        if self.digests.setdefault(webhook_id, digest) != digest:
            self.changed += 1
        if webhook_id in self.arrivals:
            self.again += 1  # deduped: answered, not processed a second time
        else:
            self.arrivals[webhook_id] = Arrival(
                data["event_id"], int(data["subscriber_id"]), time.monotonic()
            )
        return self.answer(204)

    def answer(self, status: int) -> web.Response:
        self.answered[status] += 1
        return web.Response(status=status)

    def pairs(self) -> dict[tuple[str, int], Arrival]:
        """The arrivals by (event, subscriber). Safe from another thread (the audit's) while the
        receiver's loop adds arrivals: list() copies the values in one step, under the GIL; a
        comprehension over the dict itself could see it grow, and raise."""
        return {(a.event_id, a.subscriber_id): a for a in list(self.arrivals.values())}
