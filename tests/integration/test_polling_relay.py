"""The polling relay's claim on the real database: two relays never hold the same row."""

from __future__ import annotations

import threading
import uuid

from sqlalchemy import Engine, delete, func, insert, select, update

from chassis.database import create_engine
from post_service.adapters import pending_events
from post_service.adapters.pending_events import SqlRelayUnitOfWork
from post_service.adapters.repository import SqlUnitOfWork, no_outbox, polling_outbox
from post_service.adapters.tables import post_event_outbox
from post_service.domain.posts import Edit, NewPost
from post_service.service.posts import create_post, delete_post, edit_post
from post_service.service.relay import publish_pending
from post_service.settings import RelaySettings
from tests.random_refs import random_id
from tests.unit.relay_fakes import ALL, FakeKafka


def test_two_relays_claiming_at_once_get_disjoint_rows(post_engine: Engine) -> None:
    polling = lambda: SqlUnitOfWork(post_engine, polling_outbox)  # noqa: E731
    created = {
        str(create_post(polling, NewPost(random_id(), "poll", "")).event_id) for _ in range(6)
    }
    both_claimed = threading.Barrier(2)
    claims: list[set[str]] = []

    def relay() -> None:
        with post_engine.connect() as connection, connection.begin():
            connection.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
            claimed = pending_events.claim(connection, limit=3)
            claims.append({str(e.event_id) for e in claimed.events} & created)
            both_claimed.wait(timeout=10)  # hold the locks until the other relay has claimed

    threads = [threading.Thread(target=relay) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    first, second = claims
    assert first.isdisjoint(second)
    assert len(first) + len(second) > 0
    with post_engine.begin() as connection:  # leave nothing for a running relay to publish
        connection.execute(
            update(post_event_outbox)
            .where(post_event_outbox.c.id.in_(created))
            .values(published_at=func.now(6))
        )


def test_the_outbox_keeps_rows_in_polling_mode_only(post_engine: Engine) -> None:
    kept = create_post(
        lambda: SqlUnitOfWork(post_engine, polling_outbox), NewPost(random_id(), "k", "")
    )
    direct = create_post(
        lambda: SqlUnitOfWork(post_engine, no_outbox), NewPost(random_id(), "d", "")
    )
    with post_engine.begin() as connection:
        ids = set(connection.scalars(select(post_event_outbox.c.id)))
        connection.execute(
            update(post_event_outbox)
            .where(post_event_outbox.c.id == str(kept.event_id))
            .values(published_at=func.now(6))
        )
    assert str(kept.event_id) in ids
    assert str(direct.event_id) not in ids


def test_purge_deletes_only_published_rows_past_the_retention(post_engine: Engine) -> None:
    event = create_post(
        lambda: SqlUnitOfWork(post_engine, polling_outbox), NewPost(random_id(), "p", "")
    )
    with post_engine.begin() as connection:
        pending_events.purge(connection, older_than_s=0)
        still_there = connection.scalar(
            select(func.count()).where(post_event_outbox.c.id == str(event.event_id))
        )
        pending_events.mark_published(connection, {str(event.event_id)})
    with post_engine.begin() as connection:
        # A purge takes a bounded batch, in no set order: rows of earlier runs may come first.
        while pending_events.purge(connection, older_than_s=0):
            pass
        gone = connection.scalar(
            select(func.count()).where(post_event_outbox.c.id == str(event.event_id))
        )
    assert (still_there, gone) == (1, 0)


def test_a_row_the_relay_cannot_read_is_set_aside_with_its_error(post_engine: Engine) -> None:
    unreadable = str(uuid.uuid4())
    with post_engine.begin() as connection:
        connection.execute(
            insert(post_event_outbox).values(
                id=unreadable, aggregatetype="post", aggregateid="1", type="PostCreated",
                payload={"post_id": 1}, created_at=func.now(6),
            )
        )  # fmt: skip
    relay_settings = RelaySettings()
    relay_engine = create_engine(
        relay_settings.db_url(relay_settings.relay_db_user, relay_settings.relay_db_password), 1
    )
    try:
        # Acknowledges nothing: whatever else waits in the shared outbox stays unpublished.
        done = publish_pending(lambda: SqlRelayUnitOfWork(relay_engine), FakeKafka(loses=ALL), 500)
    finally:
        relay_engine.dispose()
    with post_engine.begin() as connection:
        row = connection.execute(
            select(post_event_outbox).where(post_event_outbox.c.id == unreadable)
        ).one()
        connection.execute(delete(post_event_outbox).where(post_event_outbox.c.id == unreadable))
    assert done.set_aside >= 1
    assert row.set_aside_at is not None
    assert row.published_at is None
    assert row.set_aside_error.startswith("KeyError")


def test_a_posts_changes_are_claimed_as_they_were_written_in_order(post_engine: Engine) -> None:
    polling = lambda: SqlUnitOfWork(post_engine, polling_outbox)  # noqa: E731
    author = random_id()
    created = create_post(polling, NewPost(author, "v1", ""))
    edit_post(polling, created.post_id, Edit(author, title="v2"))
    deleted = delete_post(polling, created.post_id, author)

    with post_engine.connect() as connection, connection.begin():
        claimed = pending_events.claim(connection, limit=100_000)
        mine = [e for e in claimed.events if e.post_id == created.post_id]
        pending_events.mark_published(connection, {str(e.event_id) for e in mine})

    assert [(type(e).__name__, e.version) for e in mine] == [
        ("PostCreated", 1),
        ("PostUpdated", 2),
        ("PostDeleted", 3),
    ]
    assert mine[0] == created
    assert mine[2] == deleted


def test_a_relay_leaves_a_posts_later_events_while_another_holds_an_earlier_one(
    post_engine: Engine,
) -> None:
    polling = lambda: SqlUnitOfWork(post_engine, polling_outbox)  # noqa: E731
    author = random_id()
    created = create_post(polling, NewPost(author, "v1", ""))
    for version in (2, 3):
        edit_post(polling, created.post_id, Edit(author, title=f"v{version}"))
    other = create_post(polling, NewPost(author, "another post", ""))
    held, claimed = threading.Event(), threading.Event()

    def first_relay() -> None:  # holds the post's first event, as a relay mid-round does
        with post_engine.connect() as connection, connection.begin():
            connection.execute(
                select(post_event_outbox.c.id)
                .where(post_event_outbox.c.id == str(created.event_id))
                .with_for_update()
            )
            held.set()
            claimed.wait(timeout=10)

    holder = threading.Thread(target=first_relay)
    holder.start()
    assert held.wait(timeout=10)
    with post_engine.connect() as connection, connection.begin():
        connection.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
        taken = pending_events.claim(connection, limit=100_000)
        claimed.set()
    holder.join(timeout=30)
    with post_engine.connect() as connection:  # nobody else published them meanwhile
        unpublished = connection.scalar(
            select(func.count()).where(
                post_event_outbox.c.aggregateid == str(created.post_id),
                post_event_outbox.c.published_at.is_(None),
            )
        )
    assert unpublished == 3
    with post_engine.begin() as connection:  # leave nothing of this test for a running relay
        connection.execute(
            update(post_event_outbox)
            .where(post_event_outbox.c.aggregateid.in_([str(created.post_id), str(other.post_id)]))
            .values(published_at=func.now(6))
        )

    taken_posts = {e.post_id for e in taken.events}
    assert other.post_id in taken_posts
    assert created.post_id not in taken_posts  # v2 and v3 wait for v1, held by the other relay
