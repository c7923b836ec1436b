"""The connector-restarter's rules: which tasks it restarts, and how it backs off."""

from __future__ import annotations

from typing import Any

import httpx
from hypothesis import given
from hypothesis import strategies as st

from connect.restarter import (
    HEALTHY_S,
    Backoff,
    Restarter,
    RestarterSettings,
    causes,
    failed_traces,
    heals_with_a_restart,
)


def status(*states: str) -> dict[str, Any]:
    return {
        "connector": {"state": "RUNNING"},
        "tasks": [
            {
                "id": i,
                "state": s,
                "trace": f"java.sql.SQLException: {i}\n\tat x" if s == "FAILED" else "",
            }
            for i, s in enumerate(states)
        ],
    }


def test_only_failed_tasks_are_reported_with_their_trace() -> None:
    assert failed_traces(status("RUNNING", "FAILED", "PAUSED")) == [
        "java.sql.SQLException: 1\n\tat x"
    ]
    assert failed_traces(status("RUNNING", "UNASSIGNED")) == []
    assert failed_traces({"tasks": [{"state": "FAILED"}]}) == ["no trace"]


# As Kafka Connect 4.3 reported them (frames shortened).
KAFKA_AWAY_TRACE = "\n".join(
    [
        "org.apache.kafka.connect.errors.ConnectException: "
        "Unrecoverable exception from producer send callback",
        "\tat org.apache.kafka.connect.runtime.WorkerSourceTask.maybeThrowProducerSendException"
        "(WorkerSourceTask.java:348)",
        "\tat org.apache.kafka.connect.runtime.WorkerTask.run(WorkerTask.java:298)",
        "Caused by: org.apache.kafka.common.errors.TimeoutException: "
        "Topic outbox.event.post not present in metadata after 1000 ms.",
    ]
)
RECORD_TOO_LARGE_TRACE = KAFKA_AWAY_TRACE.replace(
    "TimeoutException: Topic outbox.event.post not present in metadata after 1000 ms.",
    "RecordTooLargeException: The message is 2000000 bytes when serialized",
)
BINLOG_PURGED_TRACE = "\n".join(
    [
        "org.apache.kafka.connect.errors.ConnectException: "
        "An exception occurred in the change event producer. This connector will be stopped.",
        "\tat io.debezium.pipeline.ErrorHandler.setProducerThrowable(ErrorHandler.java:67)",
        "Caused by: io.debezium.DebeziumException: The connector is trying to read binlog "
        "starting at ..., but this is no longer available on the server.",
    ]
)


def test_a_sink_is_restarted_whatever_failed_it() -> None:
    for trace in (BINLOG_PURGED_TRACE, RECORD_TOO_LARGE_TRACE, "java.sql.SQLException: x", ""):
        assert heals_with_a_restart("sink", trace)


def test_a_source_is_restarted_only_when_its_producer_could_not_reach_kafka() -> None:
    assert heals_with_a_restart("source", KAFKA_AWAY_TRACE)
    for kafka_away in ("NetworkException", "NotLeaderOrFollowerException"):
        trace = KAFKA_AWAY_TRACE.replace("TimeoutException", kafka_away)
        assert heals_with_a_restart("source", trace)
    without_a_message = KAFKA_AWAY_TRACE.splitlines()[0] + (
        "\nCaused by: org.apache.kafka.common.errors.DisconnectException"
    )
    assert heals_with_a_restart("source", without_a_message)
    # A name that only begins like one of them is another exception.
    longer = KAFKA_AWAY_TRACE.replace("TimeoutException:", "TimeoutExceptionally:")
    assert not heals_with_a_restart("source", longer)
    # Loud until someone looks: the binlog is gone, or the record will never fit.
    assert not heals_with_a_restart("source", BINLOG_PURGED_TRACE)
    assert not heals_with_a_restart("source", RECORD_TOO_LARGE_TRACE)
    assert not heals_with_a_restart("source", "no trace")
    # A Kafka timeout somewhere else than the send (a schema history read, say) is not this case.
    elsewhere = BINLOG_PURGED_TRACE + "\n" + KAFKA_AWAY_TRACE.splitlines()[-1]
    assert not heals_with_a_restart("source", elsewhere)


def test_a_restart_is_logged_with_the_exception_and_its_causes_only() -> None:
    assert causes(KAFKA_AWAY_TRACE) == (
        "org.apache.kafka.connect.errors.ConnectException: Unrecoverable exception from producer "
        "send callback / Caused by: org.apache.kafka.common.errors.TimeoutException: Topic "
        "outbox.event.post not present in metadata after 1000 ms."
    )


def test_restarts_back_off_from_the_first_delay_doubling_to_the_cap() -> None:
    backoff = Backoff(first_s=5, max_s=300)
    now, delays = 0.0, []
    for _ in range(8):
        assert backoff.due(now)
        backoff.restarted(now)
        delays.append(backoff.delay_s)
        assert not backoff.due(now + backoff.delay_s - 0.01)
        now += backoff.delay_s
    assert delays == [5, 10, 20, 40, 80, 160, 300, 300]


@given(st.integers(min_value=1, max_value=50))
def test_a_task_that_ran_long_enough_starts_over_from_the_first_delay(failures: int) -> None:
    backoff = Backoff(first_s=5, max_s=300)
    for _ in range(failures):
        backoff.restarted(0)
    backoff.running(1)
    backoff.running(1 + max(HEALTHY_S, backoff.delay_s))
    assert backoff.due(0)
    backoff.restarted(0)
    assert backoff.delay_s == 5


def test_a_task_seen_running_briefly_between_failures_keeps_backing_off() -> None:
    backoff = Backoff(first_s=5, max_s=300)
    now, delays = 0.0, []
    for _ in range(6):  # fails a few seconds after each start, seen RUNNING in between
        backoff.restarted(now)
        delays.append(backoff.delay_s)
        backoff.running(now + 2)
        now += backoff.delay_s
    assert delays == [5, 10, 20, 40, 80, 160]


def connect_listing(*listings: dict[str, Any]) -> httpx.Client:
    """A client whose GET /connectors answers each listing in turn, as Kafka Connect would."""
    answers = iter(listings)
    transport = httpx.MockTransport(lambda _: httpx.Response(200, json=next(answers)))
    return httpx.Client(transport=transport, base_url="http://connect")


def listed(**states: str) -> dict[str, Any]:
    return {
        name: {"status": status(state), "info": {"type": "source"}}
        for name, state in states.items()
    }


def test_a_deleted_connector_is_forgotten_and_starts_over_if_registered_again() -> None:
    restarter = Restarter(RestarterSettings())
    with connect_listing(
        listed(outbox="RUNNING", scratch="RUNNING"),
        {},  # a worker that has not read its configs yet lists none: nothing is forgotten
        listed(outbox="RUNNING"),
    ) as client:
        restarter.check(client, now=0)
        for backoff in restarter.backoffs.values():
            backoff.restarted(0)
        restarter.check(client, now=1)
        assert sorted(restarter.backoffs) == ["outbox", "scratch"]
        restarter.check(client, now=2)
    assert list(restarter.backoffs) == ["outbox"]
    assert restarter.backoffs["outbox"].delay_s == 5
