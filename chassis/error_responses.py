"""The errors every HTTP API of the system answers: their body, their OpenAPI entries, and a 4xx
naming the problem for any input, where FastAPI alone answers some with a 400 or a 500."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Coroutine
from typing import Any, ClassVar, Final

from fastapi import HTTPException, Request, Response, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.types import Receive, Scope, Send


class ErrorDetail(BaseModel):
    """What went wrong, in words."""

    detail: str


OpenAPIResponses = dict[int | str, dict[str, Any]]

BODY_UNREADABLE: Final[OpenAPIResponses] = {
    status.HTTP_400_BAD_REQUEST: {
        "model": ErrorDetail,
        "description": "The body could not be read (FastAPI's answer when reading it fails)",
    }
}
BODY_TOO_LARGE: Final[OpenAPIResponses] = {
    status.HTTP_413_CONTENT_TOO_LARGE: {
        "model": ErrorDetail,
        "description": "The body, or the length it declares, is over the service's limit",
    }
}
BODY_TOO_SLOW: Final[OpenAPIResponses] = {
    status.HTTP_408_REQUEST_TIMEOUT: {
        "model": ErrorDetail,
        "description": "The body did not arrive within 10 s",
    }
}
DATABASE_UNAVAILABLE: Final[OpenAPIResponses] = {
    status.HTTP_503_SERVICE_UNAVAILABLE: {
        "model": ErrorDetail,
        "description": (
            "Nothing was changed, try again: the database cannot be reached, another"
            " transaction holds a row the change needs (with Retry-After), or too many"
            " requests are in progress (with Retry-After). Or, when the detail says so, the"
            " connection failed during the commit and the outcome is unknown: retry with the"
            " same Idempotency-Key to find out"
        ),
    }
}


class JSONBodyRequest(Request):
    """A request whose body, when it is not JSON, is refused as FastAPI refuses bad JSON syntax."""

    async def json(self) -> Any:
        try:
            return await super().json()
        except json.JSONDecodeError:
            raise
        except (ValueError, RecursionError) as error:
            # Not UTF-8 (a UnicodeDecodeError), a number of over 4,300 digits, a nesting too deep:
            # FastAPI answered these with a 400 "There was an error parsing the body".
            body = (await self.body()).decode("utf-8", "replace")
            raise json.JSONDecodeError(str(error), body, getattr(error, "start", 0)) from error


class JSONBodyRoute(APIRoute):
    """A route that answers any body which is not JSON with a 422 `json_invalid` naming why."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handle_json_body(request: Request) -> Response:
            return await handle(JSONBodyRequest(request.scope, request.receive))

        return handle_json_body


class EveryMethodRoute(JSONBodyRoute):
    """Answers a method that no route of its path has with a 405 whose Allow header names every
    method of the path: Starlette's names those of the first route of the path only."""

    methods_of_path: ClassVar[dict[str, set[str]]] = {}

    def __init__(self, path: str, endpoint: Callable[..., Any], **options: Any) -> None:
        super().__init__(path, endpoint, **options)
        self.methods_of_path.setdefault(self.path, set()).update(self.methods or ())

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.methods and scope["method"] not in self.methods:
            allowed = ", ".join(sorted(self.methods_of_path[self.path]))
            raise HTTPException(status.HTTP_405_METHOD_NOT_ALLOWED, headers={"Allow": allowed})
        await super().handle(scope, receive, send)


# What a refused input can hold that JSON cannot carry as it is: the bytes of a body sent without
# a JSON content type, which need not be UTF-8, and the NaN and Infinity that Python's json reads.
_PRINTABLE: Final[dict[Any, Callable[[Any], Any]]] = {
    bytes: lambda raw: raw.decode("utf-8", "replace"),
    float: lambda number: number if math.isfinite(number) else str(number),
}


async def invalid_request(request: Request, error: RequestValidationError) -> Response:
    """FastAPI's 422 with the refused input echoed back, for any input: FastAPI's own handler
    answered a 500 for bytes that are not UTF-8, for NaN, and for a lone surrogate."""
    detail = jsonable_encoder(error.errors(), custom_encoder=_PRINTABLE)
    # ASCII with escapes: a lone surrogate (a JSON "\ud800") goes back as it came, UTF-8 has none.
    return Response(
        json.dumps({"detail": detail}, ensure_ascii=True),
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        media_type="application/json",
    )
