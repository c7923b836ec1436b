"""Refuses a request body over a size limit with 413, without keeping more of it than the limit.

The rest of an over-limit body is read and thrown away (up to DRAIN_MAX_BYTES) before the answer:
a client that writes its whole body before it reads (Python's urllib, say) would otherwise find
the connection reset, closed with its data unread, instead of reading its 413."""

from __future__ import annotations

import orjson
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Beyond this, the connection is closed unread: reading gigabytes to be polite is an attack surface.
DRAIN_MAX_BYTES = 16 * 1024 * 1024


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
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
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
    """Reads what is left of the body, up to DRAIN_MAX_BYTES, and keeps none of it."""
    drained = 0
    while more_body and drained <= DRAIN_MAX_BYTES:
        message = await receive()
        if message["type"] != "http.request":
            return
        drained += len(message.get("body", b""))
        more_body = message.get("more_body", False)
