"""The subscribe service's HTTP API: subscriptions, the notifications a subscriber received, and
their feed, read from the read model."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response, status

from chassis.api import URL_INTEGER, IdInPath, IdInQuery, create_api
from chassis.error_responses import BODY_UNREADABLE, JSONBodyRoute
from chassis.logs import configure_logging
from subscribe_service.bootstrap import Bootstrapped, bootstrap
from subscribe_service.entrypoints.schemas import (
    FeedEntryPublic,
    NotificationPublic,
    SubscriptionCreate,
    SubscriptionPublic,
)
from subscribe_service.entrypoints.webhooks_api import webhooks
from subscribe_service.service import notifications as notification_cases
from subscribe_service.service import subscriptions as subscription_cases
from subscribe_service.service.ports import UnitOfWork
from subscribe_service.settings import Settings


# A coroutine: FastAPI would run a plain function in the thread pool, a round trip per request.
async def unit_of_work(request: Request) -> Callable[[], UnitOfWork]:
    deps: Bootstrapped = request.app.state.deps
    return deps.unit_of_work


UnitOfWorkFactory = Annotated[Callable[[], UnitOfWork], Depends(unit_of_work)]

subscriptions = APIRouter(
    prefix="/subscriptions", tags=["subscriptions"], route_class=JSONBodyRoute
)


@subscriptions.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=SubscriptionPublic,
    responses=BODY_UNREADABLE,
)
def subscribe(body: SubscriptionCreate, uow: UnitOfWorkFactory) -> SubscriptionPublic:
    """Subscribes a subscriber to an author's posts; repeating it is harmless."""
    subscription_cases.subscribe(uow, body.subscriber_id, body.author_id)
    return SubscriptionPublic(subscriber_id=body.subscriber_id, author_id=body.author_id)


@subscriptions.delete("/{subscriber_id}/{author_id}", status_code=status.HTTP_204_NO_CONTENT)
def unsubscribe(subscriber_id: IdInPath, author_id: IdInPath, uow: UnitOfWorkFactory) -> Response:
    """Ends a subscription; ending one that does not exist is harmless too."""
    subscription_cases.unsubscribe(uow, subscriber_id, author_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


notifications = APIRouter(
    prefix="/notifications", tags=["notifications"], route_class=JSONBodyRoute
)


@notifications.get("", response_model=list[NotificationPublic])
def list_notifications(
    subscriber_id: IdInQuery,
    uow: UnitOfWorkFactory,
    limit: Annotated[int, Query(ge=1, le=1000), URL_INTEGER] = 50,
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


feed = APIRouter(prefix="/feed", tags=["feed"], route_class=JSONBodyRoute)


@feed.get("", response_model=list[FeedEntryPublic])
def read_feed(
    subscriber_id: IdInQuery,
    uow: UnitOfWorkFactory,
    limit: Annotated[int, Query(ge=1, le=1000), URL_INTEGER] = 50,
) -> list[FeedEntryPublic]:
    """The posts the subscriber was notified of, the newest post first, with their title
    and content as they are now, from the read model (a copy of the post database's posts kept by
    a Kafka Connect JDBC sink). A deleted post is not listed; an edit or a new post shows once the
    sink has written it, typically within a second."""
    return [
        FeedEntryPublic(
            post_id=e.post_id,
            author_id=e.author_id,
            title=e.title,
            content=e.content,
            version=e.version,
            created_at=e.created_at,
            updated_at=e.updated_at,
            notified_at=e.notified_at,
        )
        for e in notification_cases.feed(uow, subscriber_id, limit)
    ]


def create_app(deps: Bootstrapped) -> FastAPI:
    app = create_api(
        service="subscribe",
        engine=deps.engine,
        routers=[subscriptions, notifications, feed, webhooks],
        # The largest valid body, every character of its 2,048-character url escaped as a
        # surrogate pair (12 bytes), is about 25 KB: a body a little over a bound still fits.
        max_body_bytes=64 * 1024,
        unavailable_detail="the database is unavailable; try again",
        max_in_flight=deps.settings.http_max_in_flight,
    )
    app.state.deps = deps
    return app


def create_app_from_environment() -> FastAPI:
    """The factory uvicorn calls."""
    settings = Settings()
    configure_logging(settings.log_level)
    return create_app(bootstrap(settings))
