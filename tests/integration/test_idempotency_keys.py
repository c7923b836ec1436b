"""Idempotency keys on the real database: one key, one post, whatever the timing of its retries."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select, update

from contract.events import PostCreated
from post_service.adapters.repository import SqlUnitOfWork
from post_service.adapters.tables import idempotency_keys, posts
from post_service.domain.idempotency import KEY_LIFETIME, IdempotencyKey
from post_service.domain.posts import NewPost, now
from post_service.service.ports import AttemptInProgress
from post_service.service.posts import KeyReused, create_post
from tests.random_refs import random_id


def posts_of(post_engine: Engine, author_id: int) -> int:
    with post_engine.connect() as connection:
        return connection.scalar(select(func.count()).where(posts.c.author_id == author_id)) or 0


def expire(post_engine: Engine, key: str) -> None:
    """Ages the key past its lifetime, as if it had been used a day ago."""
    long_ago = (now() - KEY_LIFETIME - timedelta(minutes=1)).replace(tzinfo=None)
    with post_engine.begin() as connection:
        connection.execute(
            update(idempotency_keys)
            .where(idempotency_keys.c.idempotency_key == key)
            .values(created_at=long_ago)
        )


def test_racing_retries_with_one_key_make_one_post(post_engine: Engine) -> None:
    author, key = random_id(), str(uuid.uuid4())
    start = threading.Barrier(4)
    answers: list[PostCreated | AttemptInProgress] = []

    def attempt() -> None:
        start.wait(timeout=10)
        try:
            answers.append(
                create_post(lambda: SqlUnitOfWork(post_engine), NewPost(author, "r", ""), key=key)
            )
        except AttemptInProgress as error:
            answers.append(error)

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert posts_of(post_engine, author) == 1
    events = {a.event_id for a in answers if isinstance(a, PostCreated)}
    assert len(events) == 1
    assert len(answers) == 4


def test_a_key_held_by_a_transaction_in_progress_answers_in_progress(post_engine: Engine) -> None:
    author, key = random_id(), str(uuid.uuid4())
    with SqlUnitOfWork(post_engine) as holder:
        assert holder.keys.claim(IdempotencyKey.of(key, NewPost(author, "h", ""))) is None
        with pytest.raises(AttemptInProgress):
            create_post(lambda: SqlUnitOfWork(post_engine), NewPost(author, "h", ""), key=key)
    # The holder rolled back: the key is free for a fresh attempt.
    create_post(lambda: SqlUnitOfWork(post_engine), NewPost(author, "h", ""), key=key)
    assert posts_of(post_engine, author) == 1


def test_the_same_key_with_another_body_is_refused(post_engine: Engine) -> None:
    author, key = random_id(), str(uuid.uuid4())
    create_post(lambda: SqlUnitOfWork(post_engine), NewPost(author, "one", ""), key=key)
    with pytest.raises(KeyReused):
        create_post(lambda: SqlUnitOfWork(post_engine), NewPost(author, "two", ""), key=key)
    assert posts_of(post_engine, author) == 1


def test_an_expired_key_is_forgotten(post_engine: Engine) -> None:
    author, key = random_id(), str(uuid.uuid4())
    create_post(lambda: SqlUnitOfWork(post_engine), NewPost(author, "old", ""), key=key)
    expire(post_engine, key)
    create_post(lambda: SqlUnitOfWork(post_engine), NewPost(author, "old", ""), key=key)
    assert posts_of(post_engine, author) == 2
