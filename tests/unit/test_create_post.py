"""Creating a post stores the post and its event together, or neither."""

from __future__ import annotations

import pytest

from post_service.domain.posts import NewPost, now
from post_service.service.posts import (
    KeyReused,
    PostNotFound,
    create_post,
    get_post,
    resend_events,
)
from tests.unit.fakes import FakePostUnitOfWork, PostStore


def test_a_created_post_and_its_event_are_stored_together() -> None:
    store = PostStore()
    event = create_post(lambda: FakePostUnitOfWork(store), NewPost(5, "hello", "world"))
    assert list(store.posts) == [event.post_id]
    assert store.outbox == [event]
    assert event.payload() == {
        "post_id": event.post_id,
        "author_id": 5,
        "title": "hello",
        "created_at": event.created_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "version": 1,
    }


def test_a_post_whose_event_cannot_be_stored_is_not_stored_either() -> None:
    store = PostStore()
    with pytest.raises(RuntimeError, match="outbox"):
        create_post(lambda: FakePostUnitOfWork(store, fail_outbox=True), NewPost(5, "t", "c"))
    assert store.posts == {}
    assert store.outbox == []


def test_each_post_gets_an_event_of_its_own() -> None:
    store = PostStore()
    first = create_post(lambda: FakePostUnitOfWork(store), NewPost(5, "one", ""))
    second = create_post(lambda: FakePostUnitOfWork(store), NewPost(5, "two", ""))
    assert first.event_id != second.event_id


def test_an_unknown_post_is_not_found() -> None:
    with pytest.raises(PostNotFound, match="post 42 not found"):
        get_post(lambda: FakePostUnitOfWork(PostStore()), 42)


def test_resending_writes_each_posts_event_again_with_its_original_id() -> None:
    store = PostStore()
    uow = lambda: FakePostUnitOfWork(store)  # noqa: E731
    before = create_post(uow, NewPost(5, "before", ""))
    since = now()
    first = create_post(uow, NewPost(5, "one", ""))
    second = create_post(uow, NewPost(5, "two", ""))
    store.outbox.clear()

    assert resend_events(uow, since, batch_size=1) == 2
    assert store.outbox == [first, second]
    assert before not in store.outbox


def test_a_retry_with_the_same_key_answers_the_first_post_and_makes_no_other() -> None:
    store = PostStore()
    first = create_post(lambda: FakePostUnitOfWork(store), NewPost(5, "t", "c"), key="k-1")
    again = create_post(lambda: FakePostUnitOfWork(store), NewPost(5, "t", "c"), key="k-1")
    assert again == first
    assert len(store.posts) == 1
    assert store.outbox == [first]


def test_a_key_sent_again_with_another_request_is_refused() -> None:
    store = PostStore()
    create_post(lambda: FakePostUnitOfWork(store), NewPost(5, "t", "c"), key="k-2")
    with pytest.raises(KeyReused):
        create_post(lambda: FakePostUnitOfWork(store), NewPost(5, "t", "other"), key="k-2")
    assert len(store.posts) == 1


def test_a_key_whose_attempt_failed_makes_a_fresh_attempt() -> None:
    store = PostStore()
    with pytest.raises(RuntimeError):
        create_post(
            lambda: FakePostUnitOfWork(store, fail_outbox=True), NewPost(5, "t", "c"), key="k-3"
        )
    event = create_post(lambda: FakePostUnitOfWork(store), NewPost(5, "t", "c"), key="k-3")
    assert list(store.posts) == [event.post_id]


def test_different_keys_make_different_posts() -> None:
    store = PostStore()
    one = create_post(lambda: FakePostUnitOfWork(store), NewPost(5, "t", "c"), key="a")
    two = create_post(lambda: FakePostUnitOfWork(store), NewPost(5, "t", "c"), key="b")
    assert one.post_id != two.post_id
