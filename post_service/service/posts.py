"""Use cases of posts."""

from __future__ import annotations

from collections.abc import Callable

from post_service.domain.posts import NewPost, Post, PostCreated
from post_service.service.ports import UnitOfWork


class PostNotFound(Exception):
    def __init__(self, post_id: int) -> None:
        super().__init__(f"post {post_id} not found")


def create_post(
    unit_of_work: Callable[[], UnitOfWork],
    new_post: NewPost,
    after_commit: Callable[[PostCreated], None] | None = None,
) -> PostCreated:
    """Stores the post and its PostCreated event together: both, or neither. after_commit (only
    the `direct` relay mode has one) publishes the event itself, and may lose it."""
    with unit_of_work() as uow:
        post = uow.posts.add(new_post)
        event = PostCreated.of(post)
        uow.outbox.append(event)
        uow.commit()
    if after_commit is not None:
        after_commit(event)
    return event


def get_post(unit_of_work: Callable[[], UnitOfWork], post_id: int) -> Post:
    with unit_of_work() as uow:
        post = uow.posts.get(post_id)
    if post is None:
        raise PostNotFound(post_id)
    return post
