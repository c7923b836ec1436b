"""Use cases of posts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from contract.events import PostCreated, PostDeleted, PostEvent
from post_service.domain.idempotency import EarlierAttempt, IdempotencyKey
from post_service.domain.posts import Edit, NewPost, Post, now
from post_service.service.ports import UnitOfWork


class PostNotFound(Exception):
    def __init__(self, post_id: int) -> None:
        super().__init__(f"post {post_id} not found")


class PostGone(Exception):
    """The post an idempotency key made was deleted since: its creation cannot be answered."""

    def __init__(self, post_id: int) -> None:
        super().__init__(f"the post this key created (post {post_id}) has been deleted since")


class KeyReused(Exception):
    """An idempotency key sent again with another request than the one it came with first."""


def create_post(
    unit_of_work: Callable[[], UnitOfWork],
    new_post: NewPost,
    after_commit: Callable[[PostEvent], None] | None = None,
    key: str | None = None,
) -> PostCreated:
    """Stores the post and its PostCreated event together: both, or neither. after_commit (only
    the `direct` relay mode has one) publishes the event itself, and may lose it.

    With an idempotency key, the key is stored in the same transaction: the same key with the
    same request answers the event of the attempt that committed, and makes nothing new."""
    with unit_of_work() as uow:
        if key is not None:
            claimed = IdempotencyKey.of(key, new_post)
            earlier = uow.keys.claim(claimed)
            if earlier is not None:
                return _replayed(uow, claimed, earlier)
        post = uow.posts.add(new_post)
        event = post.created_event()
        uow.outbox.append(event)
        if key is not None:
            uow.keys.complete(key, post.post_id)
        uow.commit()
    if after_commit is not None:
        after_commit(event)
    return event


def _replayed(uow: UnitOfWork, key: IdempotencyKey, earlier: EarlierAttempt) -> PostCreated:
    if earlier.fingerprint != key.fingerprint:
        raise KeyReused(f"idempotency key {key.key!r} came first with another request")
    post = uow.posts.get(earlier.post_id)
    if post is None:  # created by the first attempt, and deleted since
        raise PostGone(earlier.post_id)
    return post.created_event()


def edit_post(
    unit_of_work: Callable[[], UnitOfWork],
    post_id: int,
    edit: Edit,
    after_commit: Callable[[PostEvent], None] | None = None,
) -> Post:
    """Changes the post and writes its PostUpdated event in the same transaction. The post's row
    is locked from the read to the commit, so two edits of one post take their versions in turn."""
    with unit_of_work() as uow:
        edited, event = locked(uow, post_id).edited(edit, now())
        uow.posts.save(edited)
        uow.outbox.append(event)
        uow.commit()
    if after_commit is not None:
        after_commit(event)
    return edited


def delete_post(
    unit_of_work: Callable[[], UnitOfWork],
    post_id: int,
    author_id: int,
    after_commit: Callable[[PostEvent], None] | None = None,
) -> PostDeleted:
    """Deletes the post and writes its PostDeleted event in the same transaction."""
    with unit_of_work() as uow:
        event = locked(uow, post_id).deleted(author_id, now())
        uow.posts.remove(post_id)
        uow.outbox.append(event)
        uow.commit()
    if after_commit is not None:
        after_commit(event)
    return event


def locked(uow: UnitOfWork, post_id: int) -> Post:
    """The post, its row locked until the transaction ends: changes of one post take turns."""
    post = uow.posts.get(post_id, for_update=True)
    if post is None:
        raise PostNotFound(post_id)
    return post


def purge_expired_keys(unit_of_work: Callable[[], UnitOfWork], limit: int = 5000) -> int:
    with unit_of_work() as uow:
        purged = uow.keys.purge_expired(limit)
        uow.commit()
    return purged


def resend_events(
    unit_of_work: Callable[[], UnitOfWork], since: datetime, batch_size: int = 500
) -> int:
    """Writes the PostCreated event of every post created since `since` to the outbox again, with
    the event's original id: what reached subscribers before is skipped by their inbox, what was
    lost (a connector that came back after the binlog it needed was purged) arrives now."""
    resent, after_post_id = 0, 0
    while True:
        with unit_of_work() as uow:
            posts = uow.posts.created_since(since, after_post_id, batch_size)
            for post in posts:
                if post.event_id is not None:
                    uow.outbox.append_again(post.created_event())
                    resent += 1
            uow.commit()
        if len(posts) < batch_size:
            return resent
        after_post_id = posts[-1].post_id


def get_post(unit_of_work: Callable[[], UnitOfWork], post_id: int) -> Post:
    with unit_of_work() as uow:
        post = uow.posts.get(post_id)
    if post is None:
        raise PostNotFound(post_id)
    return post
