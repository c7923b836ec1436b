"""`make up` is idempotent, and `make status` reports every part healthy."""

from __future__ import annotations

from tests.running_stack import make

PARTS = (
    "mariadb-post",
    "mariadb-subscribe",
    "kafka",
    "connect",
    "post-service",
    "subscribe-api",
    "subscribe-consumer",
)


def test_make_up_again_leaves_the_running_system_alone() -> None:
    printed = make("up")
    for part in PARTS:
        assert any(line.split()[:3] == [part, "RUNNING", "ready"] for line in printed.splitlines())


def test_make_status_shows_every_part_ready() -> None:
    printed = make("status")
    ready = {line.split()[0] for line in printed.splitlines() if " ready " in line}
    assert ready == set(PARTS)
