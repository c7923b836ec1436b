"""POSTs a delivery to its endpoint as the Standard Webhooks specification has it: the stored
body, `webhook-id`, `webhook-timestamp` (this attempt's) and `webhook-signature` (HMAC-SHA256 with
the subscriber's secret, by the `standardwebhooks` package). Only a 2xx counts as delivered; a
redirect is not followed (the specification: update the URL instead); 410 Gone means stop."""

from __future__ import annotations

import asyncio
import math
from datetime import UTC, datetime
from typing import Final

import httpx
from standardwebhooks.webhooks import Webhook

from subscribe_service.domain.deliveries import Delivery, Outcome
from subscribe_service.service.ports import WebhookSender
from subscribe_service.settings import Settings

USER_AGENT: Final = "outbox-cdc-subscribe-dispatcher/1.0"


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


class HttpWebhookSender(WebhookSender):
    def __init__(self, settings: Settings) -> None:
        self.attempt_timeout_s = settings.dispatcher_attempt_timeout_s
        self.client = httpx.AsyncClient(
            timeout=httpx.Timeout(
                settings.dispatcher_read_timeout_s, connect=settings.dispatcher_connect_timeout_s
            ),
            follow_redirects=False,
            limits=httpx.Limits(max_connections=settings.dispatcher_max_in_flight),
        )

    async def send(self, delivery: Delivery) -> Outcome:
        if delivery.endpoint is None:
            return Outcome.failure("the subscriber has no endpoint any more", gone=True)
        headers = signed_headers(delivery, delivery.endpoint.secret, datetime.now(UTC))
        try:
            async with asyncio.timeout(self.attempt_timeout_s):
                # Streamed and never read: the answer's status is all that counts, and a receiver
                # cannot make the dispatcher read a body of any size.
                async with self.client.stream(
                    "POST", delivery.endpoint.url, content=delivery.body, headers=headers
                ) as response:
                    status = response.status_code
        except TimeoutError:
            return Outcome.failure(f"no answer within {self.attempt_timeout_s:g}s")
        except (httpx.HTTPError, httpx.InvalidURL) as error:
            return Outcome.failure(f"{type(error).__name__}: {error}")
        if 200 <= status < 300:
            return Outcome.success()
        if status == httpx.codes.GONE:
            return Outcome.failure("HTTP 410 Gone: the receiver wants no more", gone=True)
        return Outcome.failure(f"HTTP {status}")

    async def close(self) -> None:
        await self.client.aclose()
