"""POSTs a delivery to its endpoint as the Standard Webhooks specification has it: the stored
body, `webhook-id`, `webhook-timestamp` (this attempt's) and `webhook-signature` (HMAC-SHA256 with
the subscriber's secret, by the `standardwebhooks` package). Only a 2xx counts as delivered; a
redirect is not followed (the specification: update the URL instead); 410 Gone means stop. Only
addresses that may receive webhooks (domain/webhooks.py, may_receive) are connected to: an
endpoint's name is resolved at each attempt and the others taken out of the answer."""

from __future__ import annotations

import asyncio
import errno
import math
import socket
from collections.abc import Sequence
from datetime import UTC, datetime
from http import HTTPStatus
from ipaddress import ip_address
from typing import Final

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from standardwebhooks.webhooks import Webhook

from subscribe_service.domain.deliveries import Delivery, Outcome
from subscribe_service.domain.webhooks import Network, may_receive, written_address
from subscribe_service.service.ports import WebhookSender
from subscribe_service.settings import Settings

USER_AGENT: Final = "outbox-cdc-subscribe-dispatcher/1.0"
ANSWER_READ_MAX_BYTES: Final = 64 * 1024
ANSWER_READ_S: Final = 2.0
# Below the 5 s after which common servers (uvicorn, Node) close an idle connection: a POST is
# not retried on a connection the server closed meanwhile, and that would cost an attempt.
IDLE_CONNECTION_S: Final = 4.0


def signed_headers(delivery: Delivery, secret: str, now: datetime) -> dict[str, str]:
    timestamp = now.astimezone(UTC)
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": delivery.webhook_id,
        "webhook-timestamp": str(math.floor(timestamp.timestamp())),
        "webhook-signature": Webhook(secret).sign(
            delivery.webhook_id, timestamp, delivery.body.decode()
        ),
    }


NOT_ALLOWED: Final = (
    "may not receive webhooks: not public, nor in SUBSCRIBE_WEBHOOK_ALLOWED_NETWORKS"
)


class AllowedAddressesResolver(AbstractResolver):
    """The system's resolver, with the addresses that may not receive webhooks taken out of its
    answers: a name that resolves to none of the others fails the attempt before any connection.
    The answer it gives is the one connected to, so a name cannot change in between."""

    def __init__(self, allowed: Sequence[Network]) -> None:
        self.allowed = allowed
        self.resolver = DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = await self.resolver.resolve(host, port, family)
        allowed = [a for a in found if may_receive(ip_address(a["host"]), self.allowed)]
        if not allowed:
            # Without the addresses: the subscriber reads this error, and must not learn through
            # it what the dispatcher's names resolve to. With an errno, so that aiohttp's error
            # shows the reason (its strerror).
            raise OSError(errno.EACCES, f"{host} resolves only to addresses that {NOT_ALLOWED}")
        return allowed

    async def close(self) -> None:
        await self.resolver.close()


class HttpWebhookSender(WebhookSender):
    """aiohttp, whose pool keeps its connections to an endpoint open from one delivery to the
    next: httpx, tried first, reached 865 requests/s here, opening a connection for each one
    (a streamed answer closed unread) or 303/s reading them, against aiohttp's 6,658/s."""

    def __init__(self, settings: Settings) -> None:
        self.attempt_timeout_s = settings.dispatcher_attempt_timeout_s
        self.timeout = aiohttp.ClientTimeout(
            total=None,
            sock_connect=settings.dispatcher_connect_timeout_s,
            sock_read=settings.dispatcher_read_timeout_s,
        )
        self.max_connections = settings.dispatcher_max_in_flight
        self.allowed_networks = settings.webhook_allowed_networks
        self.session: aiohttp.ClientSession | None = None  # made in the running event loop

    def client(self) -> aiohttp.ClientSession:
        if self.session is None:
            connector = aiohttp.TCPConnector(
                limit=self.max_connections,
                keepalive_timeout=IDLE_CONNECTION_S,
                resolver=AllowedAddressesResolver(self.allowed_networks),
            )
            self.session = aiohttp.ClientSession(
                connector=connector,
                timeout=self.timeout,
                # An answer is read only up to ANSWER_READ_MAX_BYTES as sent: never inflated.
                auto_decompress=False,
                skip_auto_headers={"Accept-Encoding"},
                # No cookies: subscribers may share a host, and one endpoint's Set-Cookie must
                # not travel with another's webhooks (and a jar costs work on every answer).
                cookie_jar=aiohttp.DummyCookieJar(),
            )
        return self.session

    async def send(self, delivery: Delivery) -> Outcome:
        if delivery.endpoint is None:
            return Outcome.failure("the subscriber has no endpoint any more", gone=True)
        # A name goes through the resolver; an address written out is connected to as it is.
        address = written_address(delivery.endpoint.url)
        if address is not None and not may_receive(address, self.allowed_networks):
            return Outcome.failure(f"{address} {NOT_ALLOWED}")
        headers = signed_headers(delivery, delivery.endpoint.secret, datetime.now(UTC))
        try:
            async with asyncio.timeout(self.attempt_timeout_s):
                response = await self.client().post(
                    delivery.endpoint.url,
                    data=delivery.body,
                    headers=headers,
                    allow_redirects=False,
                )
        except TimeoutError:
            return Outcome.failure(f"no answer within {self.attempt_timeout_s:g}s")
        except (aiohttp.ClientError, ValueError) as error:
            return Outcome.failure(f"{type(error).__name__}: {error}")
        async with response:  # the status is in: whatever the body does, the attempt is judged
            await read_short_answer(response)
        if 200 <= response.status < 300:
            return Outcome.success()
        if response.status == HTTPStatus.GONE:
            return Outcome.failure("HTTP 410 Gone: the receiver wants no more", gone=True)
        return Outcome.failure(f"HTTP {response.status}")

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()


async def read_short_answer(response: aiohttp.ClientResponse) -> None:
    """A short answer is read, so that its connection serves the next delivery; a longer one (or
    one of unknown length), or one slower than ANSWER_READ_S, is not, and its connection is
    closed: a receiver cannot make the dispatcher read a body of any size or for any time."""
    length = response.content_length
    if length is None or length > ANSWER_READ_MAX_BYTES:
        response.close()
        return
    try:
        async with asyncio.timeout(ANSWER_READ_S):
            await response.read()
    except (aiohttp.ClientError, TimeoutError):
        response.close()
