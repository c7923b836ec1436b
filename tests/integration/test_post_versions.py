"""A post's events on the real subscribe database: whatever order and however often they come,
what a subscriber sees is the post at the newest version applied, and nothing of a deleted post."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from contract.events import PostCreated, PostDeleted, PostEvent, PostUpdated
from subscribe_service.adapters.tables import notifications
from subscribe_service.bootstrap import Bootstrapped
from subscribe_service.service.notifications import latest_notifications, notify_subscribers
from subscribe_service.service.subscriptions import subscribe
from tests.random_refs import random_id


def an_hour_ago() -> datetime:
    """When the tests' subscribers subscribed: before any history, however long the machine
    stalls between drawing a history and subscribing."""
    return datetime.now(UTC) - timedelta(hours=1)


def history(post_id: int, author_id: int, edits: int, deleted: bool) -> list[PostEvent]:
    """A post's events as the post service raises them: created (after the test's subscriber
    subscribed), edited, maybe deleted."""
    start = datetime.now(UTC) + timedelta(seconds=1)
    events: list[PostEvent] = [PostCreated(uuid4(), post_id, author_id, "v1", start)]
    for version in range(2, edits + 2):
        moment = start + timedelta(seconds=version)
        events.append(PostUpdated(uuid4(), post_id, author_id, f"v{version}", version, moment))
    if deleted:
        version = edits + 2
        moment = start + timedelta(seconds=version)
        events.append(PostDeleted(uuid4(), post_id, author_id, version, moment))
    return events


@st.composite
def deliveries(draw: st.DrawFn) -> tuple[list[PostEvent], list[list[PostEvent]]]:
    """A history, and how it arrives: in any order, each event one or more times, in batches."""
    events = history(0, 0, draw(st.integers(0, 4)), draw(st.booleans()))
    arriving = draw(st.permutations(events + draw(st.lists(st.sampled_from(events), max_size=4))))
    cuts = sorted(draw(st.sets(st.integers(1, len(arriving)), max_size=3)) | {len(arriving)})
    return events, [arriving[start:end] for start, end in zip([0, *cuts], cuts, strict=False)]


def renumbered(event: PostEvent, post_id: int, author_id: int) -> PostEvent:
    """The same event for a post and author of this example's own."""
    if isinstance(event, PostCreated):
        return PostCreated(
            event.event_id, post_id, author_id, event.title, event.created_at, event.version
        )
    if isinstance(event, PostUpdated):
        return PostUpdated(
            event.event_id, post_id, author_id, event.title, event.version, event.updated_at
        )
    return PostDeleted(event.event_id, post_id, author_id, event.version, event.deleted_at)


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(arrival=deliveries())
def test_a_subscriber_sees_the_newest_version_applied_whatever_the_order(
    subscribe_deps: Bootstrapped, arrival: tuple[list[PostEvent], list[list[PostEvent]]]
) -> None:
    events, batches = arrival
    post_id, author_id, subscriber_id = random_id(), random_id(), random_id()
    subscribe(subscribe_deps.unit_of_work, subscriber_id, author_id, at=an_hour_ago())
    for batch in batches:
        notify_subscribers(
            subscribe_deps.unit_of_work, [renumbered(e, post_id, author_id) for e in batch]
        )

    seen = latest_notifications(subscribe_deps.unit_of_work, subscriber_id, 10)
    newest = max(events, key=lambda e: e.version)
    if isinstance(newest, PostDeleted):
        assert seen == []
    else:
        assert [(n.post_id, n.title) for n in seen] == [(post_id, newest.title)]


def test_an_event_older_than_the_applied_version_changes_nothing(
    subscribe_deps: Bootstrapped,
) -> None:
    post_id, author_id, subscriber_id = random_id(), random_id(), random_id()
    subscribe(subscribe_deps.unit_of_work, subscriber_id, author_id, at=an_hour_ago())
    created, edit, later_edit = history(post_id, author_id, edits=2, deleted=False)

    notify_subscribers(subscribe_deps.unit_of_work, [created, later_edit])
    notify_subscribers(subscribe_deps.unit_of_work, [edit])  # a reconcile's late copy, say

    seen = latest_notifications(subscribe_deps.unit_of_work, subscriber_id, 10)
    assert [n.title for n in seen] == ["v3"]


def test_a_creation_applied_after_its_posts_deletion_notifies_nobody(
    subscribe_deps: Bootstrapped,
) -> None:
    post_id, author_id, subscriber_id = random_id(), random_id(), random_id()
    subscribe(subscribe_deps.unit_of_work, subscriber_id, author_id, at=an_hour_ago())
    created, deleted = history(post_id, author_id, edits=0, deleted=True)

    notify_subscribers(subscribe_deps.unit_of_work, [deleted])
    made, _ = notify_subscribers(subscribe_deps.unit_of_work, [created])  # a reconcile's copy

    assert made == []
    with subscribe_deps.engine.connect() as connection:
        rows = connection.scalar(
            select(func.count()).where(notifications.c.event_id == str(created.event_id))
        )
    assert rows == 0
