"""What a run found: percentiles (HdrHistogram), a table, a JSON report and a PNG chart."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from hdrh.histogram import HdrHistogram

from loadtest.audit import AuditResult, ReadModelAudit, ReceiverAudit
from loadtest.faults import FaultWindow
from loadtest.generator import Changed, Sent, unanswered_or_5xx

PERCENTILES = {"p50": 50.0, "p90": 90.0, "p99": 99.0, "p999": 99.9}
MAX_LISTED_IDS = 50


def percentiles(values_ms: Iterable[float]) -> dict[str, float]:
    """p50, p90, p99, p99.9 and max in ms, to 3 significant digits, from 1 µs to 1 hour."""
    histogram = HdrHistogram(1, 3_600_000_000, 3)  # microseconds
    for value in values_ms:
        histogram.record_value(max(1, round(value * 1000)))
    if histogram.get_total_count() == 0:
        return {name: 0.0 for name in [*PERCENTILES, "max"]}
    found = {name: histogram.get_value_at_percentile(p) / 1000 for name, p in PERCENTILES.items()}
    return {**found, "max": histogram.get_max_value() / 1000}


@dataclass
class Run:
    rate: float
    duration_s: float
    subscribers_per_author: int
    started_epoch: float
    sent: list[Sent]
    audit: AuditResult
    faults: list[FaultWindow]
    receiver: ReceiverAudit | None = None  # with webhooks: what reached the run's receiver
    changed: list[Changed] = field(default_factory=list)  # edits and deletions, if any
    read_model: ReadModelAudit | None = None  # the JDBC sink's copy against the posts table

    def recovery_s(self, window: FaultWindow) -> float | None:
        """From the end of a fault to the last notification of a post created before that end;
        None (never recovered) while any of those posts was lost."""
        before = {s.event_id for s in self.sent if s.event_id and s.scheduled_s <= window.ended_s}
        if before & set(self.audit.lost_events):
            return None
        latest = [
            d.notified_at_epoch - self.started_epoch
            for d in self.audit.deliveries
            if d.event_id in before
        ]
        return max(0.0, max(latest) - window.ended_s) if latest else None

    def read_model_summary(self) -> dict[str, Any]:
        assert self.read_model is not None
        return {
            **asdict(self.read_model),
            "lag_ms": percentiles(self.read_model.lag_ms),
        }

    def summary(self) -> dict[str, Any]:
        errors = [s for s in self.sent if s.status != 201]
        outside_faults = self.changes_outside_faults()
        return {
            "rate": self.rate,
            "duration_s": self.duration_s,
            "subscribers_per_author": self.subscribers_per_author,
            "requests": len(self.sent),
            "accepted": self.audit.accepted,
            "errors": len(errors),
            "statuses": dict(sorted(Counter(str(s.status) for s in self.sent).items())),
            "retried": sum(1 for s in self.sent if s.attempts > 1),
            "unknown": {
                "committed": self.audit.unknown_committed,
                "not_committed": self.audit.unknown_not_committed,
            },
            "doubled_posts": self.audit.doubled_posts,
            "changes": self.answers_to(self.changed),
            # Due and answered while no fault was in effect: the answers no fault may have cost.
            "changes_outside_faults": self.answers_to(outside_faults),
            # Unanswered or answered 5xx: what only a fault excuses. (A 404 is an answer: an edit
            # may reach its post after a deletion sent after it.)
            "refused_outside_faults": [
                asdict(c) for c in outside_faults if unanswered_or_5xx(c.status)
            ][:MAX_LISTED_IDS],
            "order_violations": self.audit.order_violations,
            "changes_lost": self.audit.changes_lost,
            "read_model": None if self.read_model is None else self.read_model_summary(),
            "delivered": self.audit.delivered,
            "lost": len(self.audit.lost_events),
            "duplicated": len(self.audit.duplicated_events),
            "lost_event_ids": self.audit.lost_events[:MAX_LISTED_IDS],
            "duplicated_event_ids": self.audit.duplicated_events[:MAX_LISTED_IDS],
            "http_ms": percentiles(s.latency_ms for s in self.sent if s.status == 201),
            "e2e_ms": percentiles(d.e2e_ms for d in self.audit.deliveries),
            "webhooks": None if self.receiver is None else self.webhooks(),
            "faults": [
                {
                    "fault": str(w.fault),
                    "began_s": round(w.began_s, 2),
                    "ended_s": round(w.ended_s, 2),
                    "recovery_s": _rounded(self.recovery_s(w)),
                }
                for w in self.faults
            ],
        }

    def changes_outside_faults(self) -> list[Changed]:
        """The changes that were not in flight (from when they were due to their answer) at any
        time a fault was in effect. A change due before a fault but answered during it is not
        among them: the client's queue or the server's may have held it until the fault."""
        return [
            c
            for c in self.changed
            if not any(w.overlaps(c.scheduled_s, c.answered_s) for w in self.faults)
        ]

    @staticmethod
    def answers_to(changed: list[Changed]) -> dict[str, dict[str, int]]:
        """How many edits and deletions got each status."""
        return {
            kind: dict(sorted(Counter(str(c.status) for c in changed if c.kind == kind).items()))
            for kind in ("edit", "delete")
        }

    def webhooks(self) -> dict[str, Any]:
        """At the receiver: every pair at least once (none lost), and exactly once after its
        dedupe by webhook-id (each pair processed once, whatever came again)."""
        assert self.receiver is not None
        found = self.receiver
        return {
            "expected": found.expected,
            "received": found.received,
            "lost": len(found.lost),
            "lost_event_ids": found.lost[:MAX_LISTED_IDS],
            "unexpected": found.unexpected,
            "again_after_2xx": found.again_after_2xx,
            # Every pair processed, each once (the dedupe by webhook-id sees to that, whatever came
            # again), and nothing that must never happen: only then is the promise kept.
            "exactly_once_after_dedupe": found.received == found.expected
            and not (found.unexpected or found.unverified or found.misrouted or found.changed),
            "e2e_ms": percentiles(found.e2e_ms),
            "answered": found.answered,
            "unverified": found.unverified,
            "misrouted": found.misrouted,
            "changed": found.changed,
        }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def read_model_line(read_model: dict[str, Any] | None) -> str:
    if read_model is None:
        return "read model: not audited"
    if read_model["converged_s"] is None:
        return (
            f"read model: NOT converged, {read_model['differing_rows']} of "
            f"{read_model['rows']} rows differ from the posts table"
        )
    return (
        f"read model: equal to the posts table ({read_model['rows']} rows) "
        f"{read_model['converged_s']:g} s after the load ended"
    )


def table(summary: dict[str, Any]) -> str:
    lines = [
        f"rate {summary['rate']:g}/s for {summary['duration_s']:g}s, "
        f"{summary['subscribers_per_author']} subscriber(s) per author",
        f"accepted {summary['accepted']}  errors {summary['errors']}  "
        f"delivered {summary['delivered']}  lost {summary['lost']}  "
        f"duplicated {summary['duplicated']}",
        f"retried with their idempotency key {summary['retried']} "
        f"(posts stored twice: {summary['doubled_posts']}); "
        f"outcome unknown to the client: {summary['unknown']['committed']} stored, "
        f"{summary['unknown']['not_committed']} not",
        "changes: "
        + "; ".join(
            f"{kind}s " + (", ".join(f"{n}x {status}" for status, n in counts.items()) or "none")
            for kind, counts in summary["changes"].items()
        )
        + f"; not applied: {summary['changes_lost']}"
        + f"; posts whose events were applied out of order: {summary['order_violations']}",
        read_model_line(summary["read_model"]),
        f"{'ms':<6}" + "".join(f"{name:>10}" for name in [*PERCENTILES, "max"]),
    ]
    rows = [("http", summary["http_ms"]), ("e2e", summary["e2e_ms"])]
    hooks = summary["webhooks"]
    if hooks is not None:
        rows.append(("hook", hooks["e2e_ms"]))
    for name, values in rows:
        lines.append(f"{name:<6}" + "".join(f"{values[n]:>10.1f}" for n in values))
    if hooks is not None:
        lines.append(
            f"webhooks: received {hooks['received']} of {hooks['expected']}, "
            f"lost {hooks['lost']}, unexpected {hooks['unexpected']}, came again after a 2xx "
            f"{hooks['again_after_2xx']} (deduped); the receiver answered "
            + ", ".join(f"{n}x {status}" for status, n in hooks["answered"].items())
        )
    for fault in summary["faults"]:
        recovered = (
            "not recovered: posts made before its end were lost"
            if fault["recovery_s"] is None
            else f"recovered {fault['recovery_s']}s after"
        )
        lines.append(
            f"fault {fault['fault']}: {fault['began_s']}s to {fault['ended_s']}s, {recovered}"
        )
    if summary["lost_event_ids"]:
        lines.append("lost: " + " ".join(summary["lost_event_ids"]))
    if summary["duplicated_event_ids"]:
        lines.append("duplicated: " + " ".join(summary["duplicated_event_ids"]))
    return "\n".join(lines)


def write_json(summary: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(summary, indent=2) + "\n")


def chart(run: Run, path: Path) -> None:
    """Throughput and latency per second of the run, with the fault windows shaded."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    seconds = int(max([run.duration_s, *(w.ended_s for w in run.faults)]) + 1)
    notified_s = [d.notified_at_epoch - run.started_epoch for d in run.audit.deliveries]
    seconds = max(seconds, int(max(notified_s, default=0)) + 1)
    accepted = _per_second((s.scheduled_s for s in run.sent if s.status == 201), seconds)
    delivered = _per_second(notified_s, seconds)
    http_p99 = _p99_per_second(
        ((s.scheduled_s, s.latency_ms) for s in run.sent if s.status == 201), seconds
    )
    e2e = [d.e2e_ms for d in run.audit.deliveries]
    e2e_p99 = _p99_per_second(zip(notified_s, e2e, strict=True), seconds)

    figure, (top, bottom) = plt.subplots(2, 1, figsize=(11, 7), sharex=True)
    top.plot(range(seconds), accepted, label="posts accepted / s")
    top.plot(range(seconds), delivered, label="notifications committed / s")
    top.set_ylabel("per second")
    bottom.plot(range(seconds), http_p99, label="HTTP p99 (ms)")
    bottom.plot(range(seconds), e2e_p99, label="end-to-end p99 (ms)")
    bottom.set_yscale("log")
    bottom.set_ylabel("ms")
    bottom.set_xlabel("seconds into the run")
    for axes in (top, bottom):
        for window in run.faults:
            axes.axvspan(
                window.began_s, max(window.ended_s, window.began_s + 0.5), alpha=0.2, color="red"
            )
        axes.legend(loc="upper right")
        axes.grid(alpha=0.3)
    top.set_title(f"{run.rate:g} posts/s for {run.duration_s:g}s; faults shaded red")
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(figure)


def _per_second(moments: Iterable[float], seconds: int) -> list[int]:
    counts = [0] * seconds
    for moment in moments:
        if 0 <= moment < seconds:
            counts[int(moment)] += 1
    return counts


def _p99_per_second(samples: Iterable[tuple[float, float]], seconds: int) -> list[float]:
    buckets: list[list[float]] = [[] for _ in range(seconds)]
    for moment, value in samples:
        if 0 <= moment < seconds:
            buckets[int(moment)].append(value)
    return [percentiles(b)["p99"] if b else float("nan") for b in buckets]
