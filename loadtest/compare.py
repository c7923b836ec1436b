"""`make compare`: the tutorial's three relay modes, one scenario each, on the native stack.

The scenario is the tutorial's: steady posts (10/s by default) with Kafka stopped for part of the
run. For each mode it reports what was accepted, delivered, lost and doubled, end-to-end latency,
how long delivery took to recover once Kafka was back, and the statements per second the relay
caused on the post database, read from the server's own per-user counters (MariaDB's
USER_STATISTICS): the polling relay's user `post_relay`, Debezium's user `debezium`.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import replace
from math import isnan, nan
from pathlib import Path
from typing import Any

from deploy.native import databases
from deploy.native.layout import Layout
from loadtest.__main__ import REPORTS, load_native_secrets
from loadtest.faults import REPO, Fault
from loadtest.run import Scenario, perform
from post_service.settings import RelayMode
from subscribe_service.adapters.kafka import AFTER_KAFKA_RESTART_S

MODES = (RelayMode.DIRECT, RelayMode.POLLING, RelayMode.CDC)
# V1 loses what it published while Kafka was away, and those posts never come: V1 is waited for
# this long at most, not the whole drain. What it did deliver comes within seconds, unless the
# consumer itself is recovering (AFTER_KAFKA_RESTART_S): a post later than this counts as lost.
DIRECT_DRAIN_S = 30.0
RELAY_USER = {RelayMode.DIRECT: None, RelayMode.POLLING: "post_relay", RelayMode.CDC: "debezium"}


def relay_statements(user: str | None) -> int:
    """Statements the user has run on the post database since the server started."""
    if user is None:
        return 0
    rows = databases.query_as_admin(
        Layout.from_env(),
        databases.POST_DB,
        "SELECT USER, SELECT_COMMANDS + UPDATE_COMMANDS + OTHER_COMMANDS"
        " FROM INFORMATION_SCHEMA.USER_STATISTICS",
    )
    return sum(int(count) for name, count in rows if name == user)


def switch_to(mode: RelayMode) -> None:
    subprocess.run(
        ["make", "--no-print-directory", "relay-mode", f"MODE={mode}"],
        cwd=REPO,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def measure(mode: RelayMode, scenario: Scenario) -> dict[str, Any]:
    print(f"--- {mode}", file=sys.stderr, flush=True)
    switch_to(mode)
    if mode is RelayMode.DIRECT:
        scenario = replace(scenario, drain_timeout_s=min(scenario.drain_timeout_s, DIRECT_DRAIN_S))
    before, started = relay_statements(RELAY_USER[mode]), time.monotonic()
    finished = perform(scenario)
    elapsed = time.monotonic() - started
    statements = relay_statements(RELAY_USER[mode]) - before
    summary = finished.summary()
    return {
        "accepted": summary["accepted"],
        "delivered": summary["delivered"],
        "lost": summary["lost"],
        "duplicated": summary["duplicated"],
        "e2e_ms": {"p50": summary["e2e_ms"]["p50"], "p99": summary["e2e_ms"]["p99"]},
        "relay_statements_per_s": round(statements / elapsed, 2),
        "recovery_s": summary["faults"][0]["recovery_s"] if summary["faults"] else None,
    }


def table(modes: dict[str, dict[str, Any]]) -> str:
    header = f"{'mode':<8} {'accepted':>8} {'delivered':>9} {'lost':>5} {'doubled':>7} "
    header += f"{'e2e p50 ms':>10} {'e2e p99 ms':>10} {'relay stmt/s':>12} {'recovery s':>10}"
    lines = [header]
    for mode, m in modes.items():
        recovery = "-" if m["recovery_s"] is None else f"{m['recovery_s']:.1f}"
        lines.append(
            f"{mode:<8} {m['accepted']:>8} {m['delivered']:>9} {m['lost']:>5} "
            f"{m['duplicated']:>7} {m['e2e_ms']['p50']:>10.0f} {m['e2e_ms']['p99']:>10.0f} "
            f"{m['relay_statements_per_s']:>12.2f} {recovery:>10}"
        )
    return "\n".join(lines)


def chart(modes: dict[str, dict[str, Any]], path: Path) -> None:
    import matplotlib  # a heavy import that only the chart needs

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(modes)
    panels = [
        ("lost posts", [modes[n]["lost"] for n in names]),
        ("doubled notifications", [modes[n]["duplicated"] for n in names]),
        (
            "relay statements / s on the post DB",
            [modes[n]["relay_statements_per_s"] for n in names],
        ),
        # A mode that never recovered (it lost posts) is labelled so: zero would read as at once.
        (
            "recovery after Kafka's return (s)",
            [nan if modes[n]["recovery_s"] is None else modes[n]["recovery_s"] for n in names],
        ),
    ]
    figure, axes = plt.subplots(1, len(panels), figsize=(14, 3.5))
    for axis, (title, values) in zip(axes, panels, strict=True):
        heights = [0.0 if isnan(value) else value for value in values]
        axis.bar(names, heights, color=["#d62728", "#ff7f0e", "#2ca02c"])
        axis.set_title(title, fontsize=10)
        measured = [value for value in values if not isnan(value)]
        axis.set_ylim(0, max(measured, default=0) * 1.2 or 1)
        for x, value in enumerate(values):
            shown, at = ("never", 0.0) if isnan(value) else (f"{value:g}", value)
            axis.annotate(shown, (x, at), ha="center", va="bottom")
    figure.suptitle("V1 direct, V2 polling, V3 CDC: the same load, Kafka stopped mid-run")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest.compare", description=__doc__)
    parser.add_argument("--rate", type=float, default=10)
    parser.add_argument("--duration", type=float, default=40)
    parser.add_argument("--fault", type=Fault.parse, default=Fault.parse("kafka@10s+15s"))
    parser.add_argument(
        "--drain-timeout",
        type=float,
        default=AFTER_KAFKA_RESTART_S,
        help=f"seconds V2 and V3 are waited for (default {AFTER_KAFKA_RESTART_S:g}: the "
        f"consumer's worst recovery from a Kafka restart); V1 at most {DIRECT_DRAIN_S:g}",
    )
    args = parser.parse_args()
    load_native_secrets()
    scenario = Scenario(
        rate=args.rate,
        duration_s=args.duration,
        faults=[args.fault],
        drain_timeout_s=args.drain_timeout,
    )
    try:
        modes = {str(mode): measure(mode, scenario) for mode in MODES}
    finally:
        switch_to(RelayMode.CDC)
    print(table(modes))
    report = {
        "scenario": {"rate": args.rate, "duration_s": args.duration, "fault": str(args.fault)}
    }
    (REPORTS / "compare.json").parent.mkdir(parents=True, exist_ok=True)
    (REPORTS / "compare.json").write_text(json.dumps({**report, "modes": modes}, indent=2) + "\n")
    chart(modes, REPORTS / "compare.png")
    print(f"report: {REPORTS / 'compare.json'}\nchart:  {REPORTS / 'compare.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
