"""The HTTP API of webhooks: a subscriber's endpoint, and what was delivered to it or died.

A secret is shown once, in the answer to the PUT that generated it, and never again: not by GET,
not in an error (a refused secret is not echoed back), not in a log line.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr

from chassis.api import Id, IdInPath
from chassis.error_responses import BODY_UNREADABLE, ErrorDetail, EveryMethodRoute, OpenAPIResponses
from subscribe_service.domain.deliveries import Status
from subscribe_service.domain.webhooks import (
    SECRET_MAX_CHARS,
    SECRET_PATTERN,
    URL_MAX_CHARS,
    URL_PATTERN,
    Network,
    check_address,
    check_secret,
    check_url,
)
from subscribe_service.service import webhooks as cases
from subscribe_service.service.ports import UnitOfWork

# Checked by check_url, and stated in the OpenAPI document: what the pattern admits is taken.
Url = Annotated[
    str,
    Field(max_length=URL_MAX_CHARS, json_schema_extra={"pattern": URL_PATTERN}),
    AfterValidator(check_url),
]
NO_ENDPOINT: OpenAPIResponses = {
    status.HTTP_404_NOT_FOUND: {"model": ErrorDetail, "description": "No endpoint"}
}


class EndpointPut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: Url = Field(description="http or https, with a host; receives a POST per notification")
    # Checked in the route, not here: a refused secret must not be echoed in the 422.
    secret: SecretStr | None = Field(
        None,
        description="`whsec_` and the padded standard base64 of 24 to 64 random bytes "
        "(Standard Webhooks); generated when omitted",
        json_schema_extra={"pattern": SECRET_PATTERN, "maxLength": SECRET_MAX_CHARS},
    )


class EndpointPublic(BaseModel):
    subscriber_id: Id
    url: str


class EndpointRegistered(EndpointPublic):
    secret: str | None = Field(
        None, description="Only when it was generated: keep it, it is never shown again"
    )


class DeliveryPublic(BaseModel):
    webhook_id: str = Field(description="The `webhook-id` header: the same at every attempt")
    event_id: UUID
    status: Status
    attempts: int = Field(ge=0)
    created_at: datetime = Field(description="When the notification's delivery was written")
    next_attempt_at: datetime | None = Field(description="While pending: the next attempt's time")
    delivered_at: datetime | None
    last_error: str | None = Field(description="Why the last attempt failed")


# A coroutine: FastAPI would run a plain function in the thread pool, a round trip per request.
async def unit_of_work(request: Request) -> Callable[[], UnitOfWork]:
    factory: Callable[[], UnitOfWork] = request.app.state.deps.unit_of_work
    return factory


UnitOfWorkFactory = Annotated[Callable[[], UnitOfWork], Depends(unit_of_work)]


async def allowed_networks(request: Request) -> list[Network]:
    networks: list[Network] = request.app.state.deps.settings.webhook_allowed_networks
    return networks


AllowedNetworks = Annotated[list[Network], Depends(allowed_networks)]


webhooks = APIRouter(prefix="/subscribers", tags=["webhooks"], route_class=EveryMethodRoute)


def refused_field(field: str, error: ValueError) -> RequestValidationError:
    """A 422 naming the body's field, with the check's message (never the value sent)."""
    return RequestValidationError(
        [{"type": "value_error", "loc": ("body", field), "msg": str(error)}]
    )


def checked_secret(secret: SecretStr | None) -> str | None:
    """The secret, or a 422 naming the field that never repeats what was sent."""
    if secret is None:
        return None
    try:
        return check_secret(secret.get_secret_value())
    except ValueError as error:
        raise refused_field("secret", error) from None


@webhooks.put(
    "/{subscriber_id}/endpoint",
    response_model=EndpointRegistered,
    response_model_exclude_none=True,
    responses=BODY_UNREADABLE,
)
def register_endpoint(
    subscriber_id: IdInPath, body: EndpointPut, uow: UnitOfWorkFactory, allowed: AllowedNetworks
) -> EndpointRegistered:
    """Registers or replaces the subscriber's webhook endpoint; answers a generated secret once.
    Webhooks go to public addresses only, unless the service allows a network besides: a url
    whose host is another address is refused (422); a name is checked at each attempt, by what
    it resolves to then (a delivery to none that may receive them fails, and is retried)."""
    try:
        url = check_address(body.url, allowed)
    except ValueError as error:
        raise refused_field("url", error) from None
    registered = cases.register_endpoint(uow, subscriber_id, url, checked_secret(body.secret))
    endpoint = registered.endpoint
    return EndpointRegistered(
        subscriber_id=endpoint.subscriber_id,
        url=endpoint.url,
        secret=endpoint.secret if registered.secret_generated else None,
    )


@webhooks.get("/{subscriber_id}/endpoint", response_model=EndpointPublic, responses=NO_ENDPOINT)
def show_endpoint(subscriber_id: IdInPath, uow: UnitOfWorkFactory) -> EndpointPublic:
    """The subscriber's endpoint, without its secret."""
    endpoint = cases.endpoint_of(uow, subscriber_id)
    if endpoint is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "this subscriber has no endpoint")
    return EndpointPublic(subscriber_id=endpoint.subscriber_id, url=endpoint.url)


@webhooks.delete("/{subscriber_id}/endpoint", status_code=status.HTTP_204_NO_CONTENT)
def remove_endpoint(subscriber_id: IdInPath, uow: UnitOfWorkFactory) -> Response:
    """Removes the endpoint: later notifications are only recorded. Harmless without one."""
    cases.remove_endpoint(uow, subscriber_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@webhooks.get("/{subscriber_id}/deliveries", response_model=list[DeliveryPublic])
def list_deliveries(
    subscriber_id: IdInPath,
    uow: UnitOfWorkFactory,
    state: Annotated[Status | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> list[DeliveryPublic]:
    """The subscriber's webhook deliveries, newest first; `status=dead` lists those that gave up."""
    return [
        DeliveryPublic(
            webhook_id=d.webhook_id,
            event_id=UUID(d.event_id),
            status=d.status,
            attempts=d.attempts,
            created_at=d.created_at,
            next_attempt_at=d.next_attempt_at if d.status == Status.PENDING else None,
            delivered_at=d.delivered_at,
            last_error=d.last_error,
        )
        for d in cases.deliveries_of(uow, subscriber_id, state, limit)
    ]
