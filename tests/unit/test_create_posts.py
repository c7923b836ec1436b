"""Group commit's use case: several requests' posts in one transaction answer each request
exactly as creating them one at a time would."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contract.events import PostCreated, PostEvent
from post_service.domain.posts import NewPost
from post_service.service.posts import (
    CreatePost,
    NotAttempted,
    create_post,
    create_posts,
    delete_post,
)
from tests.unit.fakes import FakePostUnitOfWork, PostStore

requests = st.builds(
    CreatePost,
    st.builds(NewPost, st.sampled_from([1, 2]), st.sampled_from(["a", "b"]), st.just("")),
    st.sampled_from([None, "k1", "k2", "k3"]),
)


def answered(answer: PostCreated | Exception) -> object:
    """An answer without its random event id: its post, or the kind of error."""
    if isinstance(answer, PostCreated):
        return (answer.post_id, answer.author_id, answer.title, answer.version)
    return type(answer)


def stored(store: PostStore) -> object:
    return (
        {(p.post_id, p.author_id, p.title) for p in store.posts.values()},
        {(key, earlier.fingerprint, earlier.post_id) for key, earlier in store.keys.items()},
        [(type(event), event.post_id) for event in store.outbox],
    )


def one_at_a_time(store: PostStore, request: CreatePost) -> PostCreated | Exception:
    try:
        return create_post(lambda: FakePostUnitOfWork(store), request.new_post, key=request.key)
    except Exception as error:
        return error


def delete_the_first_post(store: PostStore) -> None:
    first = store.posts[min(store.posts)]
    delete_post(lambda: FakePostUnitOfWork(store), first.post_id, first.author_id)


@given(
    before=st.lists(requests, max_size=4),
    delete_first=st.booleans(),
    batch=st.lists(requests, min_size=1, max_size=8),
)
def test_a_batch_answers_and_stores_what_one_request_at_a_time_would(
    before: list[CreatePost], delete_first: bool, batch: list[CreatePost]
) -> None:
    together, alone = PostStore(), PostStore()
    for store in (together, alone):
        for request in before:
            one_at_a_time(store, request)
        if delete_first and store.posts:
            delete_the_first_post(store)

    answers = create_posts(lambda: FakePostUnitOfWork(together), batch)

    expected = [one_at_a_time(alone, request) for request in batch]
    assert [answered(a) for a in answers] == [answered(e) for e in expected]
    assert stored(together) == stored(alone)


def test_a_batch_without_a_refusal_is_one_transaction() -> None:
    store, transactions = PostStore(), []

    def unit_of_work() -> FakePostUnitOfWork:
        transactions.append(1)
        return FakePostUnitOfWork(store)

    batch = [CreatePost(NewPost(1, f"t{n}", ""), key=f"k{n}") for n in range(5)]
    answers = create_posts(unit_of_work, batch)

    assert len(transactions) == 1
    assert [a.title for a in answers if isinstance(a, PostCreated)] == [f"t{n}" for n in range(5)]
    assert {key: e.post_id for key, e in store.keys.items()} == {
        f"k{n}": a.post_id for n, a in enumerate(answers) if isinstance(a, PostCreated)
    }


def test_a_key_met_before_sends_the_batch_one_request_at_a_time() -> None:
    store, transactions = PostStore(), []
    first = create_post(lambda: FakePostUnitOfWork(store), NewPost(1, "t", ""), key="k")

    def unit_of_work() -> FakePostUnitOfWork:
        transactions.append(1)
        return FakePostUnitOfWork(store)

    answers = create_posts(
        unit_of_work, [CreatePost(NewPost(1, "new", "")), CreatePost(NewPost(1, "t", ""), "k")]
    )

    assert len(transactions) == 3  # the batch, rolled back; then each alone
    assert answers[1] == first
    assert isinstance(answers[0], PostCreated)
    assert answers[0].title == "new"
    assert len(store.posts) == 2


def test_an_error_of_the_database_is_raised_for_the_whole_batch() -> None:
    store = PostStore()
    with pytest.raises(RuntimeError, match="outbox"):
        create_posts(
            lambda: FakePostUnitOfWork(store, fail_outbox=True),
            [CreatePost(NewPost(1, "a", "")), CreatePost(NewPost(1, "b", ""))],
        )
    assert store.posts == {}


def test_events_are_handed_on_after_the_commit_in_the_batchs_order() -> None:
    store, handed = PostStore(), list[PostEvent]()
    answers = create_posts(
        lambda: FakePostUnitOfWork(store),
        [CreatePost(NewPost(1, "a", "")), CreatePost(NewPost(1, "b", ""))],
        after_commit=handed.append,
    )
    assert handed == answers


def test_the_database_away_one_at_a_time_answers_its_request_and_the_rest_are_not_tried() -> None:
    store = PostStore()
    first = create_post(lambda: FakePostUnitOfWork(store), NewPost(1, "t", ""), key="k")
    transactions = itertools.count()

    def unit_of_work() -> FakePostUnitOfWork:
        # The batch (refused: its key is stored), the first request alone, then the database
        # away for the second.
        number = next(transactions)
        return DatabaseAway(store) if number == 2 else FakePostUnitOfWork(store)

    replayed, failed, untried = create_posts(
        unit_of_work,
        [
            CreatePost(NewPost(1, "t", ""), "k"),
            CreatePost(NewPost(1, "b", "")),
            CreatePost(NewPost(1, "c", "")),
        ],
        database_away=lambda error: isinstance(error, ConnectionError),
    )

    assert replayed == first
    assert isinstance(failed, ConnectionError)
    assert isinstance(untried, NotAttempted)
    assert next(transactions) == 3  # the third was never tried
    assert [post.title for post in store.posts.values()] == ["t"]


def test_an_error_of_one_request_alone_does_not_stop_the_others() -> None:
    store = PostStore()
    create_post(lambda: FakePostUnitOfWork(store), NewPost(1, "t", ""), key="k")
    transactions = itertools.count()

    def unit_of_work() -> FakePostUnitOfWork:
        return FakePostUnitOfWork(store, fail_outbox=next(transactions) == 2)

    answers = create_posts(
        unit_of_work,
        [
            CreatePost(NewPost(1, "t", ""), "k"),
            CreatePost(NewPost(1, "b", "")),
            CreatePost(NewPost(1, "c", "")),
        ],
        database_away=lambda error: isinstance(error, ConnectionError),
    )

    assert isinstance(answers[1], RuntimeError)  # not the database away: the next goes on
    assert isinstance(answers[2], PostCreated)
    assert sorted(post.title for post in store.posts.values()) == ["c", "t"]


class DatabaseAway(FakePostUnitOfWork):
    def __enter__(self) -> DatabaseAway:
        raise ConnectionError("the database is away")
