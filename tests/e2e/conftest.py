"""The e2e tier drives the whole running system over HTTP, as a user would."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.running_stack import POST_URL, SUBSCRIBE_URL


@pytest.fixture(scope="session")
def posts() -> Iterator[httpx.Client]:
    with httpx.Client(base_url=POST_URL, timeout=10) as client:
        yield client


@pytest.fixture(scope="session")
def subscriptions() -> Iterator[httpx.Client]:
    with httpx.Client(base_url=SUBSCRIBE_URL, timeout=10) as client:
        yield client
