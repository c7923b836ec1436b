"""Group commit on the real database: several requests' posts, events and keys in one
transaction, each answered with its own post; a key met before or held sends the batch one
request at a time, and only that request's answer says so."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.exc import DBAPIError

from chassis.database_errors import blames_the_data, is_transient
from contract.events import TITLE_MAX_CHARS, PostCreated
from deploy.native import databases
from deploy.native.layout import Layout
from post_service.adapters.repository import SqlUnitOfWork, polling_outbox
from post_service.adapters.tables import idempotency_keys, post_event_outbox, posts
from post_service.domain.idempotency import IdempotencyKey
from post_service.domain.posts import NewPost
from post_service.service.ports import AttemptInProgress
from post_service.service.posts import CreatePost, KeyReused, create_post, create_posts
from tests.integration.test_idempotency_keys import expire
from tests.integration.test_post_transaction import binlog_since, row_changes, transactions
from tests.random_refs import random_id
from tests.running_stack import post_db_as_admin


def stored_posts(post_engine: Engine, author_id: int) -> dict[int, tuple[str, str]]:
    with post_engine.connect() as connection:
        rows = connection.execute(
            select(posts.c.post_id, posts.c.title, posts.c.event_id).where(
                posts.c.author_id == author_id
            )
        )
        return {row.post_id: (row.title, row.event_id) for row in rows}


def keys_of(post_engine: Engine, keys: list[str]) -> dict[str, int | None]:
    with post_engine.connect() as connection:
        rows = connection.execute(
            select(idempotency_keys.c.idempotency_key, idempotency_keys.c.post_id).where(
                idempotency_keys.c.idempotency_key.in_(keys)
            )
        )
        return {row.idempotency_key: row.post_id for row in rows}


def test_each_request_of_a_batch_gets_its_own_post_event_and_key(post_engine: Engine) -> None:
    author, keys = random_id(), [str(uuid.uuid4()) for _ in range(6)]
    batch = [
        CreatePost(NewPost(author, f"title {n}", f"content {n}"), key if n % 2 else None)
        for n, key in enumerate(keys)
    ]

    answers = create_posts(lambda: SqlUnitOfWork(post_engine), batch)

    assert all(isinstance(answer, PostCreated) for answer in answers)
    created = [answer for answer in answers if isinstance(answer, PostCreated)]
    assert stored_posts(post_engine, author) == {
        event.post_id: (f"title {n}", str(event.event_id)) for n, event in enumerate(created)
    }
    assert keys_of(post_engine, keys) == {
        request.key: event.post_id
        for request, event in zip(batch, created, strict=True)
        if request.key is not None
    }
    # A retry of any of them answers its own post.
    again = create_post(lambda: SqlUnitOfWork(post_engine), batch[3].new_post, key=batch[3].key)
    assert again == created[3]


def test_a_batch_with_a_key_stored_before_goes_one_request_at_a_time(post_engine: Engine) -> None:
    author, key, reused = random_id(), str(uuid.uuid4()), str(uuid.uuid4())
    first = create_post(lambda: SqlUnitOfWork(post_engine), NewPost(author, "first", ""), key=key)
    create_post(lambda: SqlUnitOfWork(post_engine), NewPost(author, "other", ""), key=reused)

    answers = create_posts(
        lambda: SqlUnitOfWork(post_engine),
        [
            CreatePost(NewPost(author, "new", "")),
            CreatePost(NewPost(author, "first", ""), key),
            CreatePost(NewPost(author, "not other", ""), reused),
            CreatePost(NewPost(author, "twice", ""), key2 := str(uuid.uuid4())),
            CreatePost(NewPost(author, "twice", ""), key2),
        ],
    )

    new, replayed, refused, twice, twice_again = answers
    assert replayed == first
    assert isinstance(refused, KeyReused)
    assert isinstance(new, PostCreated)
    assert isinstance(twice, PostCreated)
    assert twice_again == twice
    titles = sorted(title for title, _ in stored_posts(post_engine, author).values())
    assert titles == ["first", "new", "other", "twice"]


def test_an_expired_key_in_a_batch_is_forgotten_and_taken_again(post_engine: Engine) -> None:
    author, key = random_id(), str(uuid.uuid4())
    create_post(lambda: SqlUnitOfWork(post_engine), NewPost(author, "old", ""), key=key)
    expire(post_engine, key)

    answers = create_posts(
        lambda: SqlUnitOfWork(post_engine),
        [CreatePost(NewPost(author, "new", "")), CreatePost(NewPost(author, "old", ""), key)],
    )

    assert all(isinstance(answer, PostCreated) for answer in answers)
    assert len(stored_posts(post_engine, author)) == 3
    assert keys_of(post_engine, [key]) == {key: answers[1].post_id}  # type: ignore[union-attr]


def test_a_key_held_by_another_attempt_answers_only_its_request_in_progress(
    post_engine: Engine,
) -> None:
    author, key = random_id(), str(uuid.uuid4())
    with SqlUnitOfWork(post_engine) as holder:
        assert holder.keys.claim(IdempotencyKey.of(key, NewPost(author, "held", ""))) is None
        answers = create_posts(
            lambda: SqlUnitOfWork(post_engine),
            [
                CreatePost(NewPost(author, "free", "")),
                CreatePost(NewPost(author, "held", ""), key),
                CreatePost(NewPost(author, "free too", ""), str(uuid.uuid4())),
            ],
        )
    free, held, free_too = answers
    assert isinstance(held, AttemptInProgress)
    assert isinstance(free, PostCreated)
    assert isinstance(free_too, PostCreated)
    titles = sorted(title for title, _ in stored_posts(post_engine, author).values())
    assert titles == ["free", "free too"]


def test_in_polling_mode_a_batch_leaves_every_event_in_the_outbox(post_engine: Engine) -> None:
    author = random_id()
    answers = create_posts(
        lambda: SqlUnitOfWork(post_engine, polling_outbox),
        [CreatePost(NewPost(author, f"t{n}", "")) for n in range(3)],
    )
    event_ids = [str(a.event_id) for a in answers if isinstance(a, PostCreated)]
    try:
        with post_engine.connect() as connection:
            rows = connection.execute(
                select(post_event_outbox.c.id, post_event_outbox.c.aggregateid).where(
                    post_event_outbox.c.id.in_(event_ids)
                )
            )
            assert {row.id: row.aggregateid for row in rows} == {
                str(a.event_id): str(a.post_id) for a in answers if isinstance(a, PostCreated)
            }
    finally:
        with (
            post_engine.begin() as connection
        ):  # the running relay is not polling: no one else would
            connection.execute(
                post_event_outbox.delete().where(post_event_outbox.c.id.in_(event_ids))
            )


@pytest.mark.skipif(
    not Layout.from_env().datadir(databases.POST_DB.part.name).is_dir(),
    reason="no native stack: its binlog is read as the administrator, over the local socket",
)
def test_a_batch_is_one_transaction_in_the_binlog_with_one_row_event_per_table(
    post_engine: Engine,
) -> None:
    ((binlog_file, position, *_),) = post_db_as_admin("SHOW MASTER STATUS")
    author = random_id()
    answers = create_posts(
        lambda: SqlUnitOfWork(post_engine),
        [CreatePost(NewPost(author, f"t{n}", ""), str(uuid.uuid4())) for n in range(4)],
    )
    event_ids = [str(a.event_id) for a in answers if isinstance(a, PostCreated)]

    naming_them = [
        transaction
        for transaction in transactions(binlog_since(binlog_file, int(position)))
        if any(event_id in info for _, info in transaction for event_id in event_ids)
    ]
    assert [row_changes(transaction) for transaction in naming_them] == [
        [
            ("post_service_db.posts", "Write_rows_v1"),
            ("post_service_db.post_event_outbox", "Write_rows_v1"),
            ("post_service_db.post_event_outbox", "Delete_rows_v1"),
            ("post_service_db.idempotency_keys", "Write_rows_v1"),
        ]
    ]


def test_a_value_the_database_refuses_fails_its_own_request_only(post_engine: Engine) -> None:
    author = random_id()
    too_long = "x" * (TITLE_MAX_CHARS + 1)  # the API refuses it first; the column, if it came

    first, refused, last = create_posts(
        lambda: SqlUnitOfWork(post_engine),
        [
            CreatePost(NewPost(author, "first", "")),
            CreatePost(NewPost(author, too_long, "")),
            CreatePost(NewPost(author, "last", "")),
        ],
        database_away=is_transient,  # as the API's: a refused value is not the database away
    )

    assert isinstance(first, PostCreated)
    assert isinstance(last, PostCreated)
    assert isinstance(refused, DBAPIError)
    assert blames_the_data(refused)
    titles = sorted(title for title, _ in stored_posts(post_engine, author).values())
    assert titles == ["first", "last"]
