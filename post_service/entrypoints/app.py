"""The post service's HTTP API."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from functools import partial
from typing import Annotated, Any

import orjson
import structlog
from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.types import Lifespan

from chassis.api import IdInPath, IdInQuery, create_api
from chassis.database_errors import is_transient
from chassis.error_responses import BODY_UNREADABLE, ErrorDetail, EveryMethodRoute
from chassis.group_commit import GroupCommit
from chassis.logs import configure_logging
from chassis.unit_of_work import OutcomeUnknown
from contract.events import PostCreated
from post_service.bootstrap import Bootstrapped, bootstrap
from post_service.domain.idempotency import KEY_LIFETIME, KEY_PATTERN
from post_service.domain.posts import Edit, NewPost, NotTheAuthor, Post
from post_service.entrypoints.schemas import PostCreate, PostCreatedPublic, PostEdit, PostPublic
from post_service.service import posts as use_cases
from post_service.service.ports import AttemptInProgress
from post_service.settings import Settings

log = structlog.get_logger()
KEY_LIFETIME_HOURS = round(KEY_LIFETIME.total_seconds() / 3600)
RETRY_SOON = {"Retry-After": "1"}


# A coroutine, so that FastAPI calls it on the event loop: a plain function would be sent to the
# thread pool and back on every request, for a dict lookup.
async def dependencies(request: Request) -> Bootstrapped:
    deps: Bootstrapped = request.app.state.deps
    return deps


Deps = Annotated[Bootstrapped, Depends(dependencies)]

Creations = GroupCommit[use_cases.CreatePost, PostCreated]


async def creations(request: Request) -> Creations:
    group_commit: Creations = request.app.state.creations
    return group_commit


posts = APIRouter(prefix="/posts", tags=["posts"], route_class=EveryMethodRoute)


IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        pattern=KEY_PATTERN,
        description=(
            'Makes a retry safe (IETF httpapi draft "The Idempotency-Key HTTP Header Field"):'
            " the same key with the same body answers the first attempt's 201 and stores nothing"
            " new; with another body, 422; while the first attempt is in progress, 409. A key"
            f" is kept {KEY_LIFETIME_HOURS} hours after its first use. A UUID is a good key."
        ),
    ),
]


@posts.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=PostCreatedPublic,
    responses={
        **BODY_UNREADABLE,
        status.HTTP_409_CONFLICT: {
            "model": ErrorDetail,
            "description": "A request with this Idempotency-Key is still in progress (Retry-After)",
        },
        status.HTTP_410_GONE: {
            "model": ErrorDetail,
            "description": "The post this Idempotency-Key created has been deleted since",
        },
    },
)
async def create_post(
    body: PostCreate,
    group_commit: Annotated[Creations, Depends(creations)],
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """Creates a post and, in the same transaction, its PostCreated event (and, with an
    Idempotency-Key, the key: a retry with it answers this post)."""
    new_post = NewPost(body.author_id, body.title, body.content)
    key = idempotency_key.strip('"') if idempotency_key else None
    try:
        event = await group_commit.submit(use_cases.CreatePost(new_post, key))
    except AttemptInProgress as error:
        detail = "a request with this Idempotency-Key is still in progress; try again shortly"
        raise HTTPException(status.HTTP_409_CONFLICT, detail, RETRY_SOON) from error
    except use_cases.PostGone as error:
        raise HTTPException(status.HTTP_410_GONE, str(error)) from error
    except use_cases.NotAttempted as error:
        detail = "the database failed before this request's turn; nothing was stored, try again"
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail, RETRY_SOON) from error
    except use_cases.KeyReused as error:
        raise RequestValidationError(
            [{"type": "idempotency_key_reused", "loc": ("header", "Idempotency-Key"),
              "msg": str(error), "input": idempotency_key}]
        ) from error  # fmt: skip
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
    return public(post)


NOT_FOUND_OR_NOT_YOURS: dict[int | str, dict[str, Any]] = {
    status.HTTP_403_FORBIDDEN: {
        "model": ErrorDetail,
        "description": "author_id is not the post's author: only the author may change it",
    },
    status.HTTP_404_NOT_FOUND: {"model": ErrorDetail, "description": "No post has this id"},
}


@posts.patch(
    "/{post_id}",
    response_model=PostPublic,
    responses={**BODY_UNREADABLE, **NOT_FOUND_OR_NOT_YOURS},
)
def edit_post(post_id: IdInPath, body: PostEdit, deps: Deps) -> PostPublic:
    """Changes a post's title, content or both and, in the same transaction, writes its
    PostUpdated event with the post's next version. author_id must be the post's author (this
    reference system has no authentication: the request says who it is)."""
    edit = Edit(body.author_id, body.title, body.content)
    with refused_changes():
        post = use_cases.edit_post(deps.unit_of_work, post_id, edit, deps.after_commit)
    log.info("post edited", post_id=post_id, version=post.version)
    return public(post)


@posts.delete(
    "/{post_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=NOT_FOUND_OR_NOT_YOURS,
)
def delete_post(post_id: IdInPath, author_id: IdInQuery, deps: Deps) -> Response:
    """Deletes a post and, in the same transaction, writes its PostDeleted event. author_id
    must be the post's author. Deleting again answers 404: the post is gone either way."""
    with refused_changes():
        event = use_cases.delete_post(deps.unit_of_work, post_id, author_id, deps.after_commit)
    log.info("post deleted", post_id=post_id, version=event.version)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@contextmanager
def refused_changes() -> Iterator[None]:
    """A change the post refuses: 404 when there is no such post, 403 when not its author's."""
    try:
        yield
    except use_cases.PostNotFound as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(error)) from error
    except NotTheAuthor as error:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(error)) from error


def public(post: Post) -> PostPublic:
    return PostPublic(
        post_id=post.post_id,
        author_id=post.author_id,
        title=post.title,
        content=post.content,
        created_at=post.created_at,
        version=post.version,
        updated_at=post.updated_at,
    )


KEY_PURGE_EVERY_S = 60.0


def lifespan_of(deps: Bootstrapped) -> Lifespan[FastAPI]:
    """While the API serves: write new posts in batches (group commit), and purge expired
    idempotency keys now and then. As it stops (once every request is answered): close what the
    composition root opened (in `direct` mode, Kafka's queue: delivered or counted)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        purging = asyncio.create_task(purge_expired_keys(deps))
        committing = asyncio.create_task(app.state.creations.run())
        try:
            yield
        finally:
            purging.cancel()
            committing.cancel()
            with suppress(asyncio.CancelledError):
                await committing
            await asyncio.to_thread(deps.close)

    return lifespan


async def purge_expired_keys(deps: Bootstrapped) -> None:
    while True:
        await asyncio.sleep(KEY_PURGE_EVERY_S)
        try:
            purged = await asyncio.to_thread(use_cases.purge_expired_keys, deps.unit_of_work)
        except (OperationalError, InterfaceError, OutcomeUnknown) as error:
            log.warning("expired idempotency keys not purged this time", error=str(error))
            continue
        if purged:
            log.info("expired idempotency keys purged", count=purged)


def create_app(deps: Bootstrapped) -> FastAPI:
    app = create_api(
        service="post",
        engine=deps.engine,
        routers=[posts],
        # A post is at most 10,000 characters of content: even all escaped as \uXXXX, that fits.
        max_body_bytes=128 * 1024,
        unavailable_detail="the database is unavailable; nothing was stored, try again",
        max_in_flight=deps.http_max_in_flight,
        lifespan=lifespan_of(deps),
    )
    app.state.deps = deps
    app.state.creations = Creations(
        partial(
            use_cases.create_posts,
            deps.unit_of_work,
            after_commit=deps.after_commit,
            database_away=is_transient,
        ),
        committers=deps.create_committers,
        max_batch=deps.create_max_batch,
        linger_s=deps.create_linger_ms / 1000,
    )
    return app


def create_app_from_environment() -> FastAPI:
    """The factory uvicorn calls in each worker process."""
    settings = Settings(_env_file=os.environ.get("POST_SETTINGS_FILE"))
    configure_logging(settings.log_level)
    return create_app(bootstrap(settings))
