"""What a long-running process hides from the garbage collector's full collections, and what the
load generator does: the startup heap is frozen (after its garbage is collected) once each process
is ready, before its first piece of work, and while the load runs no full collection comes."""

from __future__ import annotations

import gc
import os
import signal
import weakref
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from types import FrameType

import pytest
from confluent_kafka import Message
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from chassis.api import serving
from chassis.heap import freeze_startup_heap
from loadtest.generator import NEVER, without_full_collections
from post_service.bootstrap import Bootstrapped as PostDeps
from post_service.bootstrap import RelayDependencies
from post_service.entrypoints import relay
from post_service.entrypoints.app import create_app as create_post_app
from post_service.settings import RelaySettings
from subscribe_service.adapters.notifier import LoggingNotifier
from subscribe_service.bootstrap import Bootstrapped as SubscribeDeps
from subscribe_service.bootstrap import ConsumerDependencies, DispatcherDependencies
from subscribe_service.entrypoints import consumer, dispatcher
from subscribe_service.settings import Settings as SubscribeSettings
from tests.unit.consumer_fakes import FakeEventStream
from tests.unit.fakes import (
    FakePostUnitOfWork,
    FakeSubscribeUnitOfWork,
    FakeWebhookSender,
    PostStore,
    SubscribeStore,
)
from tests.unit.relay_fakes import FakeKafka, FakeRelayUnitOfWork, Queue


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


def unheard(signum: int, frame: FrameType | None) -> None:
    raise AssertionError("the process set no SIGTERM handler: supervisord's stop would kill it")


@pytest.fixture
def entrypoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A process's entrypoint run inside pytest: it serves no metrics (a server each would stay
    for the rest of the run), and installs its SIGTERM and SIGINT handlers, after which pytest gets
    its own back. Until it does, a SIGTERM fails the test instead of ending pytest."""
    monkeypatch.setattr(relay, "start_http_server", lambda *args, **kwargs: None)
    monkeypatch.setattr(consumer, "serve_metrics", lambda *args: None)
    monkeypatch.setattr(dispatcher, "serve_metrics", lambda *args: None)
    handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGINT)}
    signal.signal(signal.SIGTERM, unheard)
    assert gc.get_freeze_count() == 0, (
        "frozen before the entrypoint ran: the test would prove nothing"
    )
    yield
    for signum, handler in handlers.items():
        signal.signal(signum, handler)


class FirstWork:
    """Stands for a process's first piece of work: notes whether the startup heap was frozen by
    then, and asks the process to stop as supervisord does (SIGTERM)."""

    def __init__(self) -> None:
        self.frozen: list[bool] = []

    def __call__(self) -> None:
        if not self.frozen:
            self.frozen.append(gc.get_freeze_count() > 0)
            os.kill(os.getpid(), signal.SIGTERM)


@pytest.mark.usefixtures("entrypoint")
def test_the_polling_relay_freezes_its_heap_before_its_first_round() -> None:
    first_work = FirstWork()

    def unit_of_work() -> FakeRelayUnitOfWork:
        first_work()
        return FakeRelayUnitOfWork(Queue())

    settings = RelaySettings(relay_db_password="unused")
    relay.run(settings, RelayDependencies(create_engine("sqlite://"), unit_of_work, FakeKafka()))

    assert first_work.frozen == [True]


class FirstPoll(FakeEventStream):
    def __init__(self, first_work: FirstWork) -> None:
        super().__init__(journal=[])
        self.first_work = first_work

    def poll(self, timeout_s: float) -> list[Message]:
        self.first_work()
        return super().poll(timeout_s)


@pytest.mark.usefixtures("entrypoint")
def test_the_consumer_freezes_its_heap_before_its_first_poll() -> None:
    first_work = FirstWork()
    deps = SubscribeDeps(
        SubscribeSettings(service_db_password="unused"),
        create_engine("sqlite://"),
        lambda: FakeSubscribeUnitOfWork(SubscribeStore()),
        LoggingNotifier(),
    )

    consumer.run(ConsumerDependencies(deps, FirstPoll(first_work)))

    assert first_work.frozen == [True]


@pytest.mark.usefixtures("entrypoint")
def test_the_dispatcher_freezes_its_heap_before_its_first_claim() -> None:
    first_work, store = FirstWork(), SubscribeStore()

    def unit_of_work() -> FakeSubscribeUnitOfWork:
        first_work()
        return FakeSubscribeUnitOfWork(store)

    deps = SubscribeDeps(
        SubscribeSettings(service_db_password="unused"),
        create_engine("sqlite://"),
        unit_of_work,
        LoggingNotifier(),
    )

    dispatcher.run(DispatcherDependencies(deps, FakeWebhookSender()))

    assert first_work.frozen == [True]
