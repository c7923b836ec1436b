"""What every HTTP API of the system has around its routes: metrics, a body limit, health
checks, a 503 (not a 500) when its database cannot be reached, ids read as its OpenAPI document
says, and that document stating every answer and every bound."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, nullcontext
from typing import Annotated, Any, Final

import anyio.to_thread
import structlog
import uvicorn
from fastapi import APIRouter, FastAPI, Path, Query, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, BeforeValidator, Field
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.pool import QueuePool
from starlette.types import ASGIApp, Lifespan

from chassis.body_limit import BodySizeLimit
from chassis.database_errors import is_lock_conflict
from chassis.error_responses import (
    BODY_TOO_LARGE,
    BODY_TOO_SLOW,
    DATABASE_UNAVAILABLE,
    invalid_request,
)
from chassis.heap import freeze_startup_heap
from chassis.http_metrics import RequestMetrics, metrics_endpoint
from chassis.overload import InFlightLimit
from chassis.unit_of_work import OutcomeUnknown
from contract.events import ID_MAX

log = structlog.get_logger()

# A row held past the session's lock wait (1 s in the post service): by a change still in progress,
# or by one the database is still undoing after a crash (InnoDB does it after it answers again).
ROW_HELD: Final = (
    "another transaction holds a row this change needs, and did not let go in time; nothing was"
    " stored, try again"
)
_DECIMAL_INTEGER: Final = re.compile(r"[+-]?[0-9]+(\.0+)?")


def decimal_integer(text: object) -> object:
    """An integer in a URL as the schema's `integer` reads it: digits, maybe a sign, maybe a zero
    fraction (7.0 is the integer 7 in JSON Schema). Pydantic alone also reads " 7" and "7_0"."""
    if isinstance(text, str) and not _DECIMAL_INTEGER.fullmatch(text):
        raise ValueError("must be an integer written in decimal digits")
    return text


def json_integer(value: object) -> object:
    """An integer in a JSON body as the schema's `integer` reads it: 7, or 7.0 (the same number in
    JSON). Pydantic alone also reads "7" and true as integers, which the schema says are not."""
    if isinstance(value, str | bool):
        raise ValueError("must be a JSON integer")
    return value


# Each after its Path(), Query() or Field(): before them, FastAPI's OpenAPI misnames the bounds.
URL_INTEGER: Final = BeforeValidator(decimal_integer)
JSON_INTEGER: Final = BeforeValidator(json_integer)
Id = Annotated[int, Field(gt=0, le=ID_MAX), JSON_INTEGER]
IdInPath = Annotated[int, Path(gt=0, le=ID_MAX), URL_INTEGER]
IdInQuery = Annotated[int, Query(gt=0, le=ID_MAX), URL_INTEGER]


class HealthStatus(BaseModel):
    """How the process is: `ok`, `ready`, or what it waits for."""

    status: str


def health_routes(engine: Engine) -> APIRouter:
    health = APIRouter(tags=["health"])

    @health.get("/healthz", response_model=HealthStatus)
    def healthz() -> HealthStatus:
        """The process is alive."""
        return HealthStatus(status="ok")

    @health.get(
        "/readyz",
        response_model=HealthStatus,
        responses={
            status.HTTP_503_SERVICE_UNAVAILABLE: {
                "model": HealthStatus,
                "description": "The database does not answer",
            }
        },
    )
    def readyz() -> JSONResponse:
        """The database answers."""
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except DBAPIError:
            return JSONResponse(
                {"status": "database unavailable"}, status.HTTP_503_SERVICE_UNAVAILABLE
            )
        return JSONResponse({"status": "ready"})

    return health


BOUND_KEYWORDS: Final = frozenset({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"})


def exact_bounds(node: Any, keyword: str = "") -> Any:
    """The OpenAPI document with its bounds the integers they were declared as. FastAPI writes the
    bounds of its component schemas through a float (fastapi/fastapi#9517, never merged): an id's
    maximum, 2**63 - 1, read 9.223372036854776e18, and 2**63, refused, was schema-valid."""
    if isinstance(node, dict):
        return {key: exact_bounds(value, key) for key, value in node.items()}
    if isinstance(node, list):
        return [exact_bounds(item) for item in node]
    if keyword in BOUND_KEYWORDS and isinstance(node, float) and node.is_integer():
        # The one bound of the system a float cannot hold; below 2**53 a float holds them all.
        return ID_MAX if node == float(ID_MAX) else int(node)
    return node


def serving(engine: Engine, lifespan: Lifespan[FastAPI] | None) -> Lifespan[FastAPI]:
    """The lifespan, with what every API does as it starts serving.

    As many threads for the routes as the pool has connections (AnyIO's default is 40). A request
    in a thread beyond them would wait there for a connection, in an order that is not its
    arrival's (a thread giving one back may take it again), while its thread competes for the GIL
    with the event loop: under overload, a few requests waited seconds. Beyond the threads,
    requests wait on the event loop, first come first served.

    Once the service's own lifespan has started, the heap is frozen (chassis.heap): the garbage
    collector's full collections no longer hold the event loop for tens of milliseconds."""

    @asynccontextmanager
    async def started(app: FastAPI) -> AsyncIterator[None]:
        if isinstance(engine.pool, QueuePool):  # chassis.database's engines
            anyio.to_thread.current_default_thread_limiter().total_tokens = engine.pool.size()
        async with lifespan(app) if lifespan is not None else nullcontext():
            freeze_startup_heap()
            yield

    return started


class ServiceAPI(FastAPI):
    """FastAPI, with an in-flight limit in front of everything and an OpenAPI document whose
    integer bounds are exact."""

    def __init__(self, *, max_in_flight: int, guards: Sequence[str], **options: Any) -> None:
        super().__init__(**options)
        self.max_in_flight = max_in_flight
        self.guards = guards

    def build_middleware_stack(self) -> ASGIApp:
        """The whole stack behind the in-flight limit, so that a request it refuses costs no
        other layer (FastAPI's error handling, the body limit, the metrics: the refused are
        counted by `http_requests_shed_total`). Under overload that leaves the event loop more
        time for the requests it takes: their p99 at 400 posts/s offered went from 2,159 and 814
        ms (limit inside) to 1,032 and 739 ms."""
        return InFlightLimit(super().build_middleware_stack(), self.max_in_flight, self.guards)

    def openapi(self) -> dict[str, Any]:
        if self.openapi_schema is None:
            self.openapi_schema = exact_bounds(super().openapi())
        return self.openapi_schema


def create_api(
    *,
    service: str,
    engine: Engine,
    routers: Sequence[APIRouter],
    max_body_bytes: int,
    unavailable_detail: str,
    max_in_flight: int,
    lifespan: Lifespan[FastAPI] | None = None,
) -> FastAPI:
    """The service's FastAPI app: its routers, then what every API has. At most max_in_flight
    requests to its routers are in progress; the others are answered 503 at once."""
    app = ServiceAPI(
        max_in_flight=max_in_flight,
        guards=[router.prefix for router in routers],
        title=f"{service} service",
        version="1.0",
        exception_handlers={RequestValidationError: invalid_request},
        lifespan=serving(engine, lifespan),
        # The metrics are Prometheus's (chassis/http_metrics.py) and the logs structlog's.
        # FastAPI's own OpenTelemetry, off, no longer asks on every request whether a provider
        # has been configured since.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.add_middleware(RequestMetrics, service=service)
    app.add_route("/metrics", metrics_endpoint, include_in_schema=False)
    app.add_middleware(BodySizeLimit, max_bytes=max_body_bytes)
    # Any route may meet the body limit, and any route of a service's own reads its database.
    for router in routers:
        app.include_router(
            router, responses={**BODY_TOO_LARGE, **BODY_TOO_SLOW, **DATABASE_UNAVAILABLE}
        )
    app.include_router(health_routes(engine), responses={**BODY_TOO_LARGE, **BODY_TOO_SLOW})

    async def database_unavailable(request: Request, error: Exception) -> JSONResponse:
        """The database cannot be reached, or a row the request needs is held: the server's
        trouble, not the client's. Before any COMMIT (whose failure is OutcomeUnknown's)."""
        log.warning("database error", path=request.url.path, error=str(error))
        if is_lock_conflict(error):
            return JSONResponse(
                {"detail": ROW_HELD}, status.HTTP_503_SERVICE_UNAVAILABLE, {"Retry-After": "1"}
            )
        return JSONResponse({"detail": unavailable_detail}, status.HTTP_503_SERVICE_UNAVAILABLE)

    async def outcome_unknown(request: Request, error: Exception) -> JSONResponse:
        """The COMMIT went out and its answer did not come back: say so, do not guess."""
        log.warning("commit outcome unknown", path=request.url.path, error=str(error))
        detail = (
            "the database connection failed during the commit: the change may or may not have"
            " been stored; read it back, or retry with the same Idempotency-Key where the API"
            " takes one, to find out"
        )
        return JSONResponse({"detail": detail}, status.HTTP_503_SERVICE_UNAVAILABLE)

    for unavailable in (OperationalError, InterfaceError, PoolTimeout):
        app.add_exception_handler(unavailable, database_unavailable)
    app.add_exception_handler(OutcomeUnknown, outcome_unknown)
    return app


def serve(factory: str, *, host: str, port: int, log_level: str, workers: int = 1) -> None:
    """Runs uvicorn on the app factory at `module:function`, one per worker process, its
    records through the root logger (JSON like every other line) and without access logs."""
    uvicorn.run(
        factory,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        log_config=None,
        access_log=False,
    )
