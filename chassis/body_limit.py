"""Refuses a request body over a size limit with 413, without keeping more of it than the limit.

The rest of an over-limit body is read and thrown away (up to DRAIN_MAX_BYTES) before the answer:
a client that writes its whole body before it reads (Python's urllib, say) would otherwise find
the connection reset, closed with its data unread, instead of reading its 413.

A body that does not arrive within BODY_TIMEOUT_S is refused with 408: a client trickling its
body a byte a minute would otherwise hold a place among the requests in progress for good."""

from __future__ import annotations

import asyncio

import orjson
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Beyond this, the connection is closed unread: reading gigabytes to be polite is an attack surface.
DRAIN_MAX_BYTES = 16 * 1024 * 1024
BODY_TIMEOUT_S = 10.0


class BodySizeLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        if not declared.isdigit() or int(declared) > self.max_bytes:
            if declared.isdigit():
                await drain(receive, more_body=True)
            await self.refuse(send)
            return
        received, complete = 0, False

        async def counted() -> Message:
            nonlocal received, complete
            if complete:  # after the body, receive() waits for a disconnect: no deadline
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), BODY_TIMEOUT_S)
            except TimeoutError:
                # Raised while the endpoint reads its body: the app answers it as a 408.
                raise HTTPException(408, f"no body within {BODY_TIMEOUT_S:g} s") from None
            received += len(message.get("body", b""))
            complete = not message.get("more_body", False)
            if received > self.max_bytes:  # a chunked body that declared no length
                await drain(receive, message.get("more_body", False))
                # Raised while the endpoint reads its body: the app answers it as a 413.
                raise HTTPException(413, self.reason)
            return message

        await self.app(scope, counted, send)

    @property
    def reason(self) -> str:
        return f"the request body is over {self.max_bytes} bytes"

    async def refuse(self, send: Send) -> None:
        body = orjson.dumps({"detail": self.reason})
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})


async def drain(receive: Receive, more_body: bool) -> None:
    """Reads what is left of the body, up to DRAIN_MAX_BYTES and BODY_TIMEOUT_S, keeping none."""
    drained = 0

    async def rest() -> None:
        nonlocal drained, more_body
        while more_body and drained <= DRAIN_MAX_BYTES:
            message = await receive()
            if message["type"] != "http.request":
                return
            drained += len(message.get("body", b""))
            more_body = message.get("more_body", False)

    try:
        await asyncio.wait_for(rest(), BODY_TIMEOUT_S)
    except TimeoutError:
        return  # a client too slow for courtesy gets its answer now, read or not
