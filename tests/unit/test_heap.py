"""What a long-running process hides from the garbage collector's full collections, and what the
load generator does: the startup heap is frozen (after its garbage is collected), and while the
load runs no full collection comes."""

from __future__ import annotations

import gc
import weakref
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from chassis.api import serving
from chassis.heap import freeze_startup_heap
from loadtest.generator import NEVER, without_full_collections
from post_service.bootstrap import Bootstrapped as PostDeps
from post_service.entrypoints.app import create_app as create_post_app
from tests.unit.fakes import FakePostUnitOfWork, PostStore


class Node:
    """An object in a reference cycle: only the cyclic collector frees it."""

    def __init__(self) -> None:
        self.itself = self


def tracked(thing: object) -> bool:
    """In one of the collector's three generations (a frozen object is in none of them)."""
    return any(candidate is thing for candidate in gc.get_objects())


@pytest.fixture(autouse=True)
def unfrozen() -> Iterator[None]:
    """Each test starts with nothing frozen (tests/conftest.py unfreezes after each), and ends
    with the collector's own thresholds."""
    thresholds = gc.get_threshold()
    gc.unfreeze()
    yield
    gc.set_threshold(*thresholds)


def test_the_startup_heap_is_frozen_once_its_garbage_is_collected() -> None:
    garbage = Node()
    gone = weakref.ref(garbage)
    del garbage
    alive = Node()

    freeze_startup_heap()

    assert gone() is None, "startup's garbage cycles are freed, not frozen for ever"
    assert gc.get_freeze_count() > 0
    assert not tracked(alive), "what lives from the start is out of the full collections' way"
    after = Node()
    assert tracked(after), "what is made afterwards is collected as usual"


def test_an_api_freezes_its_heap_when_it_starts_serving() -> None:
    store = PostStore()
    app = create_post_app(PostDeps(create_engine("sqlite://"), lambda: FakePostUnitOfWork(store)))
    assert gc.get_freeze_count() == 0
    with TestClient(app):
        assert gc.get_freeze_count() > 0
        assert not tracked(app)


def test_what_the_service_starts_in_its_lifespan_is_frozen_with_the_rest() -> None:
    started: list[Node] = []

    @asynccontextmanager
    async def service_lifespan(app: FastAPI) -> AsyncIterator[None]:
        assert gc.get_freeze_count() == 0, "frozen before the service had started"
        started.append(Node())
        yield

    app = FastAPI(lifespan=serving(create_engine("sqlite://"), service_lifespan))
    with TestClient(app):
        assert not tracked(started[0])


def test_no_full_collection_comes_while_the_load_runs_and_the_collector_is_restored_after() -> None:
    thresholds = gc.get_threshold()
    before = Node()
    with without_full_collections():
        assert gc.get_threshold() == (thresholds[0], thresholds[1], NEVER)
        assert not tracked(before)
        assert gc.isenabled(), "the young generations are still collected"
    assert gc.get_threshold() == thresholds
    assert gc.get_freeze_count() == 0
    assert tracked(before)


def test_the_collector_is_restored_when_the_load_ends_in_an_error() -> None:
    thresholds = gc.get_threshold()
    with pytest.raises(RuntimeError), without_full_collections():
        raise RuntimeError("the load failed")
    assert gc.get_threshold() == thresholds
    assert gc.get_freeze_count() == 0
