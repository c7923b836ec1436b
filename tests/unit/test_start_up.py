"""A process of the native stack starts from its dependencies' bytecode (`make sync` compiles them
once per uv.lock): where PYTHONDONTWRITEBYTECODE is set, each start would compile them anew, and a
service or a `make` command took 2.9 s instead of 1.3 s to start."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

# Among the largest the services import.
HEAVY = ["sqlalchemy.sql.compiler", "fastapi.routing", "pydantic.main", "confluent_kafka.admin"]


@pytest.mark.parametrize("name", HEAVY)
def test_the_dependencies_are_compiled_before_any_process_starts(name: str) -> None:
    # Found, not imported: an import would write the bytecode where it may.
    spec = importlib.util.find_spec(name)
    assert spec is not None
    assert spec.origin is not None
    compiled = Path(importlib.util.cache_from_source(spec.origin))
    assert compiled.is_file(), f"{name} is compiled at each start: no {compiled}"
