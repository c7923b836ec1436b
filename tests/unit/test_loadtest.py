"""The load generator's pure parts: fault schedules, percentiles, recovery times, the audit at the
webhook receiver."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from loadtest import compare
from loadtest.audit import Audience, AuditResult, Delivery
from loadtest.faults import Fault, FaultWindow
from loadtest.generator import Changed, Sent
from loadtest.receiver import Arrival, Receiver
from loadtest.report import Run, percentiles, table


def test_a_stop_and_start_fault_parses_and_prints_back() -> None:
    fault = Fault.parse("kafka@10s+20s")
    assert (fault.part, fault.at_s, fault.for_s) == ("kafka", 10.0, 20.0)
    assert str(fault) == "kafka@10s+20s"


def test_a_kill_fault_has_no_duration() -> None:
    fault = Fault.parse("subscribe-consumer@2.5s:kill")
    assert (fault.part, fault.at_s, fault.for_s) == ("subscribe-consumer", 2.5, None)


def test_a_cut_fault_names_a_cluster_host_and_prints_back() -> None:
    fault = Fault.parse("kafka-3@10s+30s:cut")
    assert (fault.part, fault.at_s, fault.for_s, fault.cut) == ("kafka-3", 10.0, 30.0, True)
    assert str(fault) == "kafka-3@10s+30s:cut"
    assert not Fault.parse("kafka-3@10s+30s").cut


@pytest.mark.parametrize(
    "text",
    ["kafka", "kafka@10", "kafka@10s", "@1s+2s", "kafka@1s+2s:kill", "kafka@1s:cut", "k@1s+2s:cu"],
)
def test_a_malformed_fault_is_refused_with_the_expected_form(text: str) -> None:
    with pytest.raises(ValueError, match=r"PART@Ts\+Ds"):
        Fault.parse(text)


def test_percentiles_of_one_to_a_thousand_ms() -> None:
    found = percentiles(float(ms) for ms in range(1, 1001))
    assert found["p50"] == pytest.approx(500, rel=0.01)
    assert found["p99"] == pytest.approx(990, rel=0.01)
    assert found["max"] == pytest.approx(1000, rel=0.01)


def test_percentiles_of_nothing_are_zero() -> None:
    assert set(percentiles([]).values()) == {0.0}


def run_with(deliveries: list[Delivery], sent: list[Sent], lost: list[str]) -> Run:
    audit = AuditResult(len(sent), len(sent) - len(lost), lost, [], deliveries)
    window = FaultWindow(Fault.parse("kafka@1s+4s"), began_s=1.0, ended_s=5.0)
    return Run(10, 10, 1, started_epoch=1000.0, sent=sent, audit=audit, faults=[window])


def test_recovery_is_the_last_delivery_of_a_post_made_before_the_fault_ended() -> None:
    sent = [
        Sent(scheduled_s=2.0, latency_ms=5, status=201, author_id=1, event_id="during"),
        Sent(scheduled_s=6.0, latency_ms=5, status=201, author_id=1, event_id="after"),
    ]
    deliveries = [
        Delivery("during", 7, e2e_ms=6000, notified_at_epoch=1008.5),
        Delivery("after", 7, e2e_ms=4000, notified_at_epoch=1010.0),
    ]
    run = run_with(deliveries, sent, lost=[])
    assert run.recovery_s(run.faults[0]) == pytest.approx(3.5)
    summary = run.summary()
    assert (summary["accepted"], summary["lost"], summary["errors"]) == (2, 0, 0)
    assert summary["faults"][0]["recovery_s"] == pytest.approx(3.5)


def test_a_fault_after_which_a_post_made_before_its_end_was_lost_never_recovered() -> None:
    sent = [
        Sent(scheduled_s=0.5, latency_ms=5, status=201, author_id=1, event_id="before"),
        Sent(scheduled_s=2.0, latency_ms=5, status=201, author_id=1, event_id="during"),
    ]
    run = run_with([Delivery("before", 7, e2e_ms=100, notified_at_epoch=1000.6)], sent, ["during"])
    assert run.recovery_s(run.faults[0]) is None
    assert run.summary()["faults"][0]["recovery_s"] is None


def test_the_changes_outside_the_faults_are_counted_apart_from_those_in_flight_during_one() -> None:
    run = run_with([], [], lost=[])  # its fault is in effect from 1.0 to 5.0 s
    run.changed = [
        Changed("edit", 1, scheduled_s=0.5, status=200, answered_s=0.6),
        Changed("edit", 2, scheduled_s=1.0, status=503, answered_s=1.1),  # the first instant
        Changed("delete", 3, scheduled_s=4.0, status=0, answered_s=14.0),
        Changed("edit", 4, scheduled_s=5.0, status=503, answered_s=5.0),  # its last
        Changed("edit", 5, scheduled_s=5.1, status=200, answered_s=5.2),
        Changed("delete", 6, scheduled_s=9.0, status=503, answered_s=9.1),
        # Due before the fault, answered after its start: held in a queue into it.
        Changed("edit", 7, scheduled_s=0.2, status=503, answered_s=1.5),
        # Its post deleted meanwhile: an answer, not a refusal.
        Changed("edit", 8, scheduled_s=7.0, status=404, answered_s=7.1),
    ]
    summary = run.summary()
    assert summary["changes"] == {
        "edit": {"200": 2, "404": 1, "503": 3},
        "delete": {"0": 1, "503": 1},
    }
    assert summary["changes_outside_faults"] == {
        "edit": {"200": 2, "404": 1},
        "delete": {"503": 1},
    }
    assert [c["post_id"] for c in summary["refused_outside_faults"]] == [6]
    assert summary["refused_outside_faults"][0]["answered_s"] == 9.1


def test_the_table_names_lost_events() -> None:
    sent = [Sent(scheduled_s=2.0, latency_ms=5, status=201, author_id=1, event_id="gone")]
    summary = run_with([], sent, lost=["gone"]).summary()
    assert summary["lost"] == 1
    assert "lost: gone" in table(summary)


def test_a_receiver_fault_needs_a_duration() -> None:
    assert Fault.parse("receiver-errors@5s+20s").for_s == 20.0
    with pytest.raises(ValueError, match="misbehaves"):
        Fault.parse("receiver@5s+20s:cut")
    with pytest.raises(ValueError, match="for a while"):
        Fault.parse("receiver@5s:kill")


def receiver_with(arrivals: dict[str, tuple[str, int, float]], again: int = 0) -> Receiver:
    receiver = Receiver()
    receiver.arrivals = {key: Arrival(*arrival) for key, arrival in arrivals.items()}
    receiver.again = again
    return receiver


def test_the_receiver_audit_finds_what_never_arrived_and_what_nobody_sent() -> None:
    audience = Audience([1, 2], {1: [10, 11], 2: [20]})
    sent = [
        Sent(scheduled_s=1.0, latency_ms=5, status=201, author_id=1, event_id="e1"),
        Sent(scheduled_s=2.0, latency_ms=5, status=201, author_id=2, event_id="e2"),
        Sent(scheduled_s=3.0, latency_ms=5, status=503, author_id=2),  # not stored
    ]
    arrived = {"w1": ("e1", 10, 101.5), "w2": ("e2", 20, 102.25), "w3": ("stray", 20, 103.0)}
    found = audience.audit_receiver(receiver_with(arrived, again=4), sent, started=100.0)
    assert (found.expected, found.received, found.lost) == (3, 2, ["e1"])  # e1 to 11 is missing
    assert (found.unexpected, found.again_after_2xx) == (1, 4)
    assert sorted(found.e2e_ms) == pytest.approx([250.0, 500.0])  # from each post's request


def test_a_run_is_exactly_once_after_dedupe_only_when_every_pair_arrived_and_no_other() -> None:
    audience = Audience([1], {1: [10]})
    sent = [Sent(scheduled_s=1.0, latency_ms=5, status=201, author_id=1, event_id="e1")]
    run = run_with([], sent, lost=[])
    run.receiver = audience.audit_receiver(receiver_with({"w": ("e1", 10, 1.1)}, 2), sent, 0.0)
    hooks = run.summary()["webhooks"]
    assert hooks["exactly_once_after_dedupe"]
    assert hooks["again_after_2xx"] == 2
    assert "received 1 of 1" in table(run.summary())
    run.receiver = audience.audit_receiver(receiver_with({}), sent, 0.0)
    assert not run.summary()["webhooks"]["exactly_once_after_dedupe"]


def test_make_compare_shows_a_mode_that_never_recovered_as_such(tmp_path: Path) -> None:
    measured: dict[str, Any] = {"lost": 0, "duplicated": 0, "accepted": 20, "delivered": 20}
    measured |= {"e2e_ms": {"p50": 1.0, "p99": 2.0}, "relay_statements_per_s": 0.5}
    modes: dict[str, dict[str, Any]] = {
        "direct": {**measured, "lost": 5, "delivered": 15, "recovery_s": None},
        "polling": {**measured, "recovery_s": 0.8},
        "cdc": {**measured, "recovery_s": 1.8},
    }
    direct_row = compare.table(modes).splitlines()[1]
    assert direct_row.split()[0] == "direct"
    assert direct_row.split()[-1] == "-"
    compare.chart(modes, tmp_path / "compare.png")  # once failed on the missing value
    assert (tmp_path / "compare.png").stat().st_size > 0
