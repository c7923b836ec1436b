"""The connector registration, which docker compose runs again at every `up` and the post service
waits for: it must finish in every state the documented commands leave the connector in, and
refuse, saying what to do, only when the connector cannot get in place by itself."""

from __future__ import annotations

from typing import Any

import pytest

from connect.connector import EVENTS_CONNECTOR, READ_MODEL_SINK
from connect.register import NotReady, check_in_place

POSITION = [{"partition": {"server": "post-outbox"}, "offset": {"file": "mysql-bin.000003"}}]


def status(connector: str, *tasks: str, trace: str = "") -> dict[str, Any]:
    """GET /connectors/{name}/status as Kafka Connect answers it."""
    return {
        "name": EVENTS_CONNECTOR,
        "connector": {"state": connector, "worker_id": "connect:8083"},
        "tasks": [
            {"id": i, "state": state, "worker_id": "connect:8083", "trace": trace}
            for i, state in enumerate(tasks)
        ],
    }


def test_a_running_connector_with_a_stored_position_is_in_place() -> None:
    assert check_in_place(EVENTS_CONNECTOR, status("RUNNING", "RUNNING"), POSITION) == "RUNNING"


def test_a_connector_paused_for_another_relay_mode_is_in_place() -> None:
    # `make relay-mode MODE=polling` (or, under compose, the pause the README describes) leaves it
    # paused, and `make up` / `docker compose --profile polling up --wait` must still finish.
    paused = status("PAUSED", "PAUSED")
    assert check_in_place(EVENTS_CONNECTOR, paused, POSITION) == "PAUSED"


@pytest.mark.parametrize(
    ("state", "offsets"),
    [
        (status("UNASSIGNED"), []),
        (status("RUNNING"), []),
        (status("RUNNING", "UNASSIGNED"), POSITION),
        (status("RUNNING", "RUNNING"), []),
    ],
)
def test_a_connector_on_its_way_is_asked_again(state: dict[str, Any], offsets: list[Any]) -> None:
    with pytest.raises(NotReady):
        check_in_place(EVENTS_CONNECTOR, state, offsets)


def test_a_connector_paused_before_it_stored_a_position_is_refused_with_what_to_do() -> None:
    # It would never store one while paused, and without one a restart snapshots afresh from the
    # binlog's end, skipping the posts in between.
    with pytest.raises(RuntimeError, match="resume"):
        check_in_place(EVENTS_CONNECTOR, status("PAUSED", "PAUSED"), [])


def test_a_failed_task_is_refused_with_what_to_do() -> None:
    failed = status("RUNNING", "FAILED", trace="io.debezium.DebeziumException: purged\n\tat ...")
    with pytest.raises(RuntimeError, match="DebeziumException: purged") as refused:
        check_in_place(EVENTS_CONNECTOR, failed, POSITION)
    assert "restart" in str(refused.value)
    assert "make recover-connector" in str(refused.value)


def test_a_running_sink_is_in_place_before_it_consumed_anything() -> None:
    # A sink stores no binlog position: its offsets are its consumer group's, none until a change.
    assert check_in_place(READ_MODEL_SINK, status("RUNNING", "RUNNING"), []) == "RUNNING"
