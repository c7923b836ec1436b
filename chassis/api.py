"""What every HTTP API of the system has around its routes: metrics, a body limit, health
checks, and a 503 (not a 500) when its database cannot be reached."""

from __future__ import annotations

from collections.abc import Sequence

import structlog
from fastapi import APIRouter, FastAPI, Request, status
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from chassis.body_limit import BodySizeLimit
from chassis.http_metrics import RequestMetrics, metrics_endpoint

log = structlog.get_logger()


def health_routes(engine: Engine) -> APIRouter:
    health = APIRouter(tags=["health"])

    @health.get("/healthz")
    def healthz() -> dict[str, str]:
        """The process is alive."""
        return {"status": "ok"}

    @health.get("/readyz")
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


def create_api(
    *,
    service: str,
    engine: Engine,
    routers: Sequence[APIRouter],
    max_body_bytes: int,
    unavailable_detail: str,
) -> FastAPI:
    """The service's FastAPI app: its routers, then what every API has."""
    app = FastAPI(title=f"{service} service", version="1.0")
    app.add_middleware(RequestMetrics, service=service)
    app.add_route("/metrics", metrics_endpoint, include_in_schema=False)
    app.add_middleware(BodySizeLimit, max_bytes=max_body_bytes)
    for router in routers:
        app.include_router(router)
    app.include_router(health_routes(engine))

    async def database_unavailable(request: Request, error: Exception) -> JSONResponse:
        """The database cannot be reached: the server's trouble, not the client's."""
        log.warning("database error", path=request.url.path, error=str(error))
        return JSONResponse({"detail": unavailable_detail}, status.HTTP_503_SERVICE_UNAVAILABLE)

    for unavailable in (OperationalError, InterfaceError):
        app.add_exception_handler(unavailable, database_unavailable)
    return app
