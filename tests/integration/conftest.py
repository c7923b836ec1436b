"""The integration tier talks to the running databases and Kafka of `make up`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from post_service.bootstrap import bootstrap as bootstrap_posts
from post_service.settings import Settings as PostSettings
from subscribe_service.bootstrap import Bootstrapped
from subscribe_service.bootstrap import bootstrap as bootstrap_subscriptions
from subscribe_service.settings import Settings as SubscribeSettings


@pytest.fixture(scope="session")
def post_engine() -> Iterator[Engine]:
    deps = bootstrap_posts(PostSettings())
    yield deps.engine
    deps.engine.dispose()


@pytest.fixture(scope="session")
def subscribe_deps() -> Iterator[Bootstrapped]:
    deps = bootstrap_subscriptions(SubscribeSettings())
    yield deps
    deps.engine.dispose()
