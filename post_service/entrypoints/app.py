"""The post service's HTTP API."""

from __future__ import annotations

import os
from typing import Annotated

import orjson
import structlog
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, status
from fastapi.responses import Response

from chassis.api import IdInPath, create_api
from chassis.error_responses import BODY_UNREADABLE, ErrorDetail, JSONBodyRoute
from chassis.logs import configure_logging
from post_service.bootstrap import Bootstrapped, bootstrap
from post_service.domain.posts import NewPost
from post_service.entrypoints.schemas import PostCreate, PostCreatedPublic, PostPublic
from post_service.service import posts as use_cases
from post_service.settings import Settings

log = structlog.get_logger()


def dependencies(request: Request) -> Bootstrapped:
    deps: Bootstrapped = request.app.state.deps
    return deps


Deps = Annotated[Bootstrapped, Depends(dependencies)]

posts = APIRouter(prefix="/posts", tags=["posts"], route_class=JSONBodyRoute)


@posts.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=PostCreatedPublic,
    responses=BODY_UNREADABLE,
)
def create_post(body: PostCreate, deps: Deps) -> Response:
    """Creates a post and, in the same transaction, its PostCreated event."""
    new_post = NewPost(body.author_id, body.title, body.content)
    event = use_cases.create_post(deps.unit_of_work, new_post, deps.after_commit)
    log.info("post created", post_id=event.post_id, event_id=str(event.event_id))
    # The hot path answers with its JSON directly: FastAPI would otherwise validate the answer
    # against PostCreatedPublic again (the model still documents it in the OpenAPI schema).
    created = {"post_id": event.post_id, "event_id": str(event.event_id), **event.payload()}
    return Response(orjson.dumps(created), status.HTTP_201_CREATED, media_type="application/json")


@posts.get(
    "/{post_id}",
    response_model=PostPublic,
    responses={
        status.HTTP_404_NOT_FOUND: {"model": ErrorDetail, "description": "No post has this id"}
    },
)
def get_post(post_id: IdInPath, deps: Deps) -> PostPublic:
    """Returns one post."""
    try:
        post = use_cases.get_post(deps.unit_of_work, post_id)
    except use_cases.PostNotFound as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(error)) from error
    return PostPublic(
        post_id=post.post_id,
        author_id=post.author_id,
        title=post.title,
        content=post.content,
        created_at=post.created_at,
    )


def create_app(deps: Bootstrapped) -> FastAPI:
    app = create_api(
        service="post",
        engine=deps.engine,
        routers=[posts],
        # A post is at most 10,000 characters of content: even all escaped as \uXXXX, that fits.
        max_body_bytes=128 * 1024,
        unavailable_detail="the database is unavailable; nothing was stored, try again",
    )
    app.state.deps = deps
    return app


def create_app_from_environment() -> FastAPI:
    """The factory uvicorn calls in each worker process."""
    settings = Settings(_env_file=os.environ.get("POST_SETTINGS_FILE"))
    configure_logging(settings.log_level)
    return create_app(bootstrap(settings))
