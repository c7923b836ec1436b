"""Use cases of posts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from contract.events import PostCreated, PostDeleted, PostEvent
from post_service.domain.idempotency import EarlierAttempt, IdempotencyKey
from post_service.domain.posts import Edit, NewPost, Post, now
from post_service.service.ports import BatchRefused, UnitOfWork


class PostNotFound(Exception):
    def __init__(self, post_id: int) -> None:
        super().__init__(f"post {post_id} not found")


class PostGone(Exception):
    """The post an idempotency key made was deleted since: its creation cannot be answered."""

    def __init__(self, post_id: int) -> None:
        super().__init__(f"the post this key created (post {post_id}) has been deleted since")


class KeyReused(Exception):
    """An idempotency key sent again with another request than the one it came with first."""


class NotAttempted(Exception):
    """A request of a batch that went one request at a time, not tried: the database failed an
    earlier one. Nothing of it was stored."""


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


@dataclass(frozen=True)
class CreatePost:
    """A request for a post, with the idempotency key it came with, if any."""

    new_post: NewPost
    key: str | None = None


def create_posts(
    unit_of_work: Callable[[], UnitOfWork],
    requests: Sequence[CreatePost],
    after_commit: Callable[[PostEvent], None] | None = None,
    database_away: Callable[[Exception], bool] = lambda error: False,
) -> list[PostCreated | Exception]:
    """Group commit: the posts, events and keys of several requests in one transaction, and one
    COMMIT for all; each request gets its own post and event, or its own error, in its place.

    One request cannot fail the others: when the database refuses the batch for something one of
    them may be to blame for (a key stored or held before, a value it cannot store), each goes
    again alone, as create_post. An error of the database itself (away, or a COMMIT whose outcome
    is unknown) is raised, and answers every request of the batch alike; an error that
    `database_away` says is the database's, met while they go one at a time, answers that
    request, and the rest are not tried (NotAttempted) rather than each wait it out in turn."""
    if len(requests) > 1:
        try:
            events = _created_together(unit_of_work, requests)
        except BatchRefused:
            pass
        else:
            if after_commit is not None:
                for event in events:
                    after_commit(event)
            return list(events)
    return _one_at_a_time(unit_of_work, requests, after_commit, database_away)


def _created_together(
    unit_of_work: Callable[[], UnitOfWork], requests: Sequence[CreatePost]
) -> list[PostCreated]:
    with unit_of_work() as uow:
        added = uow.posts.add_all([request.new_post for request in requests])
        events = [post.created_event() for post in added]
        uow.outbox.append_all(events)
        uow.keys.record_all(
            [
                (IdempotencyKey.of(request.key, request.new_post), post.post_id)
                for request, post in zip(requests, added, strict=True)
                if request.key is not None
            ]
        )
        uow.commit()
    return events


def _one_at_a_time(
    unit_of_work: Callable[[], UnitOfWork],
    requests: Sequence[CreatePost],
    after_commit: Callable[[PostEvent], None] | None,
    database_away: Callable[[Exception], bool],
) -> list[PostCreated | Exception]:
    answers: list[PostCreated | Exception] = []
    for request in requests:
        try:
            answers.append(create_post(unit_of_work, request.new_post, after_commit, request.key))
        except Exception as error:
            answers.append(error)
            if database_away(error):
                break
    return answers + [NotAttempted() for _ in requests[len(answers) :]]


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
