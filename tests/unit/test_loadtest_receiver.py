"""The load test's webhook receiver, over real HTTP on 127.0.0.1: it verifies, dedupes, and
misbehaves as its faults say."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import aiohttp
import pytest
from standardwebhooks.webhooks import Webhook

from loadtest.receiver import Mishap, Receiver


def signed(
    secret: str, webhook_id: str, event_id: str, subscriber_id: int = 7
) -> tuple[bytes, dict[str, str]]:
    data = {"event_id": event_id, "subscriber_id": subscriber_id}
    body = json.dumps({"type": "post.created", "data": data})
    now = datetime.now(UTC)
    headers = {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(webhook_id, now, body),
    }
    return body.encode(), headers


async def send(receiver: Receiver, body: bytes, headers: dict[str, str]) -> int:
    async with (
        aiohttp.ClientSession() as session,
        session.post(receiver.url_for(7), data=body, headers=headers) as response,
    ):
        return response.status


def test_it_verifies_each_request_and_processes_each_webhook_id_once() -> None:
    async def scenario() -> None:
        receiver = Receiver()
        secret = receiver.secret_for(7)
        await receiver.start()
        try:
            body, headers = signed(secret, "msg_1", "e1")
            assert await send(receiver, body, headers) == 204
            assert await send(receiver, body, headers) == 204  # again: answered, not redone
            assert await send(receiver, body + b" ", headers) == 401  # not what was signed
            assert list(receiver.pairs()) == [("e1", 7)]
            assert (receiver.again, receiver.unverified) == (1, 1)
            assert await send(receiver, *signed(receiver.secret_for(8), "msg_2", "e2")) == 401
            body, headers = signed(secret, "msg_1", "e1", subscriber_id=8)  # for 8, at 7's path
            assert await send(receiver, body, headers) == 204
            assert (receiver.misrouted, receiver.changed) == (1, 1)
        finally:
            await receiver.stop()

    asyncio.run(scenario())


def test_down_it_refuses_connections_and_afterwards_listens_on_the_same_port() -> None:
    async def scenario() -> None:
        receiver = Receiver()
        secret = receiver.secret_for(7)
        await receiver.start()
        try:
            port = receiver.port
            await receiver.misbehave(Mishap.DOWN)
            with pytest.raises(aiohttp.ClientConnectionError):
                await send(receiver, *signed(secret, "msg_1", "e1"))
            await receiver.recover()
            assert receiver.port == port
            assert await send(receiver, *signed(secret, "msg_1", "e1")) == 204
        finally:
            await receiver.stop()

    asyncio.run(scenario())


def test_failing_it_answers_500_to_its_share_and_counts_nothing_as_arrived() -> None:
    async def scenario() -> None:
        receiver = Receiver(fail_share=1.0)
        secret = receiver.secret_for(7)
        await receiver.start()
        try:
            await receiver.misbehave(Mishap.ERRORS)
            assert await send(receiver, *signed(secret, "msg_1", "e1")) == 500
            assert receiver.pairs() == {}
            await receiver.recover()
            assert await send(receiver, *signed(secret, "msg_1", "e1")) == 204
            assert receiver.answered == {204: 1, 500: 1}
        finally:
            await receiver.stop()

    asyncio.run(scenario())
