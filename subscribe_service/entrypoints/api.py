"""The subscribe service's HTTP API: subscriptions, and the notifications a subscriber received."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import structlog
from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request, Response, status
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from subscribe_service.bootstrap import Bootstrapped, bootstrap
from subscribe_service.entrypoints.body_limit import BodySizeLimit
from subscribe_service.entrypoints.metrics import RequestMetrics, metrics_endpoint
from subscribe_service.entrypoints.schemas import (
    BIGINT_MAX,
    NotificationPublic,
    SubscriptionCreate,
    SubscriptionPublic,
)
from subscribe_service.logs import configure_logging
from subscribe_service.service import notifications as notification_cases
from subscribe_service.service import subscriptions as subscription_cases
from subscribe_service.service.ports import UnitOfWork
from subscribe_service.settings import Settings

log = structlog.get_logger()


def unit_of_work(request: Request) -> Callable[[], UnitOfWork]:
    deps: Bootstrapped = request.app.state.deps
    return deps.unit_of_work


UnitOfWorkFactory = Annotated[Callable[[], UnitOfWork], Depends(unit_of_work)]
IdPath = Annotated[int, Path(gt=0, le=BIGINT_MAX)]

subscriptions = APIRouter(prefix="/subscriptions", tags=["subscriptions"])


@subscriptions.post("", status_code=status.HTTP_201_CREATED, response_model=SubscriptionPublic)
def subscribe(body: SubscriptionCreate, uow: UnitOfWorkFactory) -> SubscriptionPublic:
    """Subscribes a subscriber to an author's posts; repeating it is harmless."""
    subscription_cases.subscribe(uow, body.subscriber_id, body.author_id)
    return SubscriptionPublic(subscriber_id=body.subscriber_id, author_id=body.author_id)


@subscriptions.delete("/{subscriber_id}/{author_id}", status_code=status.HTTP_204_NO_CONTENT)
def unsubscribe(subscriber_id: IdPath, author_id: IdPath, uow: UnitOfWorkFactory) -> Response:
    """Ends a subscription; ending one that does not exist is harmless too."""
    subscription_cases.unsubscribe(uow, subscriber_id, author_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


notifications = APIRouter(prefix="/notifications", tags=["notifications"])


@notifications.get("", response_model=list[NotificationPublic])
def list_notifications(
    subscriber_id: Annotated[int, Query(gt=0, le=BIGINT_MAX)],
    uow: UnitOfWorkFactory,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> list[NotificationPublic]:
    """The subscriber's latest notifications, newest first."""
    return [
        NotificationPublic(
            event_id=n.event_id,
            post_id=n.post_id,
            author_id=n.author_id,
            title=n.title,
            created_at=n.created_at,
            notified_at=n.notified_at or n.created_at,
        )
        for n in notification_cases.latest_notifications(uow, subscriber_id, limit)
    ]


health = APIRouter(tags=["health"])


@health.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@health.get("/readyz")
def readyz(request: Request) -> JSONResponse:
    """The database answers."""
    deps: Bootstrapped = request.app.state.deps
    try:
        with deps.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except DBAPIError:
        return JSONResponse({"status": "database unavailable"}, status.HTTP_503_SERVICE_UNAVAILABLE)
    return JSONResponse({"status": "ready"})


async def database_unavailable(request: Request, error: Exception) -> JSONResponse:
    """A database that cannot be reached is the server's trouble, not the client's: 503, not 500."""
    log.warning("database error", path=request.url.path, error=str(error))
    return JSONResponse(
        {"detail": "the database is unavailable; try again"}, status.HTTP_503_SERVICE_UNAVAILABLE
    )


def create_app(deps: Bootstrapped) -> FastAPI:
    app = FastAPI(title="subscribe service", version="1.0")
    app.add_middleware(RequestMetrics)
    app.add_route("/metrics", metrics_endpoint, include_in_schema=False)
    app.add_middleware(BodySizeLimit, max_bytes=16 * 1024)
    app.state.deps = deps
    app.include_router(subscriptions)
    app.include_router(notifications)
    app.include_router(health)
    for unavailable in (OperationalError, InterfaceError):
        app.add_exception_handler(unavailable, database_unavailable)
    return app


def create_app_from_environment() -> FastAPI:
    """The factory uvicorn calls."""
    settings = Settings()
    configure_logging(settings.log_level)
    return create_app(bootstrap(settings))
