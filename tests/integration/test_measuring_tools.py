"""The benchmarks' own tools measure what they say: the ceiling stores whole posts with their
events at any number per transaction, and the HTTP layers' servers answer what they are sent."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, bindparam, text

from loadtest import ceiling, http_layers


def last_post_id(post_engine: Engine) -> int:
    with post_engine.connect() as connection:
        return int(connection.scalar(text("SELECT COALESCE(MAX(post_id), 0) FROM posts")) or 0)


def events_of_the_ceiling_since(post_engine: Engine, post_id: int) -> list[str]:
    """The event ids of the ceiling's posts after post_id."""
    with post_engine.connect() as connection:
        query = text("SELECT event_id FROM posts WHERE post_id > :after AND author_id = :author")
        return list(connection.scalars(query, {"after": post_id, "author": ceiling.AUTHOR}))


@pytest.mark.parametrize("posts_per_transaction", [1, 4])
def test_the_ceiling_stores_its_posts_whole_and_leaves_the_outbox_empty(
    post_engine: Engine, posts_per_transaction: int
) -> None:
    before = last_post_id(post_engine)
    rate = ceiling.measure(1, duration_s=0.5, posts_per_transaction=posts_per_transaction)
    events = events_of_the_ceiling_since(post_engine, before)
    assert rate > 0
    assert events
    assert len(events) % posts_per_transaction == 0
    with post_engine.connect() as connection:
        query = text("SELECT COUNT(*) FROM post_event_outbox WHERE id IN :ids").bindparams(
            bindparam("ids", expanding=True)
        )
        assert connection.scalar(query, {"ids": events}) == 0


def test_the_paced_ceiling_makes_no_more_posts_than_its_rate(post_engine: Engine) -> None:
    before = last_post_id(post_engine)
    # 10 transactions of 2 posts a second: at most 11 in the second (the first is due at once).
    rate = ceiling.measure(1, duration_s=1.0, posts_per_transaction=2, rate=20)
    assert 0 < rate <= 22
    assert 0 < len(events_of_the_ceiling_since(post_engine, before)) <= 22


def test_the_ceiling_through_the_service_stores_its_posts(post_engine: Engine) -> None:
    before = last_post_id(post_engine)
    rate = ceiling.measure(1, duration_s=0.5, through_the_service=True)
    assert rate > 0
    assert events_of_the_ceiling_since(post_engine, before)


@pytest.mark.parametrize("app", http_layers.APPS)
def test_each_http_layer_answers_and_its_cpu_is_measured(app: str) -> None:
    # drive() raises on any answer but a 201. CPU is counted in clock ticks of 10 ms: 500
    # requests, so that even the bare app (about 0.2 ms a request) spends several; 50 of them
    # once added up to less than a tick, and read 0.
    assert http_layers.measure(app, rate=250, duration_s=2) > 0
