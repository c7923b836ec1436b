"""Editing and deleting a post: the change and its event together, or neither; each change one
version on; only the author."""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contract.events import PostCreated, PostDeleted, PostUpdated
from post_service.domain.posts import Edit, NewPost, NotTheAuthor, new_event_id
from post_service.service.posts import (
    PostGone,
    PostNotFound,
    create_post,
    delete_post,
    edit_post,
)
from tests.unit.fakes import FakePostUnitOfWork, PostStore

titles = st.one_of(st.none(), st.text(min_size=1, max_size=20))


@given(edits=st.lists(st.tuples(titles, st.one_of(st.none(), st.text(max_size=20))), max_size=6))
def test_every_edit_is_one_version_on_and_its_event_says_what_the_post_is_now(
    edits: list[tuple[str | None, str | None]],
) -> None:
    store = PostStore()
    uow = lambda: FakePostUnitOfWork(store)  # noqa: E731
    created = create_post(uow, NewPost(7, "first", "body"))
    title, content = "first", "body"
    for version, (new_title, new_content) in enumerate(edits, start=2):
        edited = edit_post(uow, created.post_id, Edit(7, new_title, new_content))
        title = title if new_title is None else new_title
        content = content if new_content is None else new_content
        event = store.outbox[-1]
        assert isinstance(event, PostUpdated)
        assert (edited.version, edited.title, edited.content) == (version, title, content)
        assert (event.post_id, event.version, event.title) == (created.post_id, version, title)
    versions = [e.version for e in store.outbox]
    assert versions == list(range(1, len(edits) + 2))


def test_a_deletion_removes_the_post_and_raises_the_next_version() -> None:
    store = PostStore()
    uow = lambda: FakePostUnitOfWork(store)  # noqa: E731
    created = create_post(uow, NewPost(7, "t", "c"))
    edit_post(uow, created.post_id, Edit(7, title="t2"))

    deleted = delete_post(uow, created.post_id, 7)

    assert isinstance(deleted, PostDeleted)
    assert (deleted.post_id, deleted.version) == (created.post_id, 3)
    assert store.posts == {}
    assert [type(e) for e in store.outbox] == [PostCreated, PostUpdated, PostDeleted]
    with pytest.raises(PostNotFound):
        delete_post(uow, created.post_id, 7)
    with pytest.raises(PostNotFound):
        edit_post(uow, created.post_id, Edit(7, title="too late"))


def test_nobody_but_the_author_changes_a_post() -> None:
    store = PostStore()
    uow = lambda: FakePostUnitOfWork(store)  # noqa: E731
    created = create_post(uow, NewPost(7, "t", "c"))

    with pytest.raises(NotTheAuthor):
        edit_post(uow, created.post_id, Edit(8, title="mine now"))
    with pytest.raises(NotTheAuthor):
        delete_post(uow, created.post_id, 8)

    assert store.posts[created.post_id].title == "t"
    assert store.outbox == [created]


def test_an_edit_whose_event_cannot_be_stored_is_not_stored_either() -> None:
    store = PostStore()
    created = create_post(lambda: FakePostUnitOfWork(store), NewPost(7, "t", "c"))

    with pytest.raises(RuntimeError):
        edit_post(lambda: FakePostUnitOfWork(store, fail_outbox=True), 1, Edit(7, title="x"))

    assert (store.posts[created.post_id].title, store.posts[created.post_id].version) == ("t", 1)
    assert store.outbox == [created]


def test_a_retried_creation_of_a_post_deleted_since_says_so() -> None:
    store = PostStore()
    uow = lambda: FakePostUnitOfWork(store)  # noqa: E731
    created = create_post(uow, NewPost(7, "t", "c"), key="k-1")
    delete_post(uow, created.post_id, 7)

    with pytest.raises(PostGone, match="deleted"):
        create_post(uow, NewPost(7, "t", "c"), key="k-1")
    assert store.posts == {}


def test_a_replayed_creation_says_the_post_as_it_is_now_never_a_later_title_at_version_1() -> None:
    store = PostStore()
    uow = lambda: FakePostUnitOfWork(store)  # noqa: E731
    first = create_post(uow, NewPost(7, "as created", "c"), key="k-2")
    edit_post(uow, first.post_id, Edit(7, title="edited"))

    replayed = create_post(uow, NewPost(7, "as created", "c"), key="k-2")

    assert (replayed.event_id, replayed.post_id) == (first.event_id, first.post_id)
    assert (replayed.title, replayed.version) == ("edited", 2)


def test_event_ids_sort_as_they_were_made_and_carry_the_millisecond_of_their_making() -> None:
    """Time-ordered ids keep the inbox's index growing at one end. Made in a burst, many share a
    millisecond: they still sort in order, and their time does not run ahead of the clock."""
    store = PostStore()
    uow = lambda: FakePostUnitOfWork(store)  # noqa: E731
    before_ms = time.time_ns() // 1_000_000
    created = create_post(uow, NewPost(7, "first", "body"))
    edit_post(uow, created.post_id, Edit(7, "second", None))
    delete_post(uow, created.post_id, 7)
    burst = [new_event_id() for _ in range(10_000)]
    after_ms = time.time_ns() // 1_000_000
    ids = [event.event_id for event in store.outbox] + burst
    assert [str(i) for i in ids] == sorted(str(i) for i in ids)  # as a CHAR(36) column sorts
    assert len(set(ids)) == len(ids)
    assert {i.version for i in ids} == {7}
    assert all(before_ms <= i.int >> 80 <= after_ms for i in ids)
