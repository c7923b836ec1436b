"""What each part of the system spends in CPU per post, read from /proc.

A part is a set of processes (a supervisord program, a cluster host's processes, the load
generator). Its cost is split in two: what it spends per second with nothing to do (a Kafka
broker, a polling consumer), measured first, and what it spends beyond that per post the load
made, so that on a shared machine the idle cost is not charged to the posts.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deploy.native.layout import Layout, read_env_file
from deploy.native.supervisor import Supervisor
from loadtest.__main__ import load_native_secrets
from loadtest.run import Scenario, perform

TICKS_PER_S = os.sysconf("SC_CLK_TCK")
MS_PER_TICK = 1000 / TICKS_PER_S
# The part the measuring process itself is: the load generator and, when webhooks are on, the
# test's receiver (they share its process).
LOAD_GENERATOR = "load generator"
# Measured over WINDOW_S of load, from WARM_UP_S after it began.
WARM_UP_S, WINDOW_S = 5.0, 15.0
# 100 samples a second of the thread that holds the GIL: where the process's Python CPU goes
# (time in a system call, which releases it, is not shown).
PY_SPY_RECORD = (
    str(Path(sys.executable).parent / "py-spy"), "record", "--gil", "--rate", "100",
    "--duration", str(int(WINDOW_S)), "--format", "flamegraph",
)  # fmt: skip


def ticks(pids: Iterable[int]) -> int:
    """CPU time (user and system, in clock ticks) the processes have used, every thread
    included; a process gone since counts nothing."""
    total = 0
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except (FileNotFoundError, ProcessLookupError):
            continue
        fields = stat.rsplit(")", 1)[1].split()  # the name, in parentheses, may hold spaces
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total


@contextmanager
def steady_load(load: Callable[[], object], warm_up_s: float = WARM_UP_S) -> Iterator[None]:
    """Runs load() in a thread; the block runs from warm_up_s after it began, and the load is
    waited for after the block, its exception, if any, raised then."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        loading = pool.submit(load)
        time.sleep(warm_up_s)
        yield
        loading.result()


@dataclass(frozen=True)
class PartCost:
    idle_ms_per_s: float
    ms_per_post: float


def cost_per_post(
    parts: Callable[[], dict[str, list[int]]],
    load: Callable[[], object],
    rate: float,
    window_s: float = WINDOW_S,
    warm_up_s: float = WARM_UP_S,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, PartCost]:
    """Each part's CPU while idle for window_s, then per post beyond idle over window_s of
    load() at `rate` posts/s, from warm_up_s after it started: the steady state, not a
    process's first requests nor the audit after the load. load must last longer than
    warm_up_s + window_s. parts() is asked once, before: a process restarted meanwhile is not
    counted after its restart. Each window is charged for as long as it lasted: a sleep on a busy
    machine overruns what it was asked for."""
    pids = {**parts(), LOAD_GENERATOR: [os.getpid()]}

    def sample() -> tuple[dict[str, int], float]:
        return {name: ticks(group) for name, group in pids.items()}, time.monotonic()

    before, idle_began = sample()
    sleep(window_s)
    idle, idle_ended = sample()
    with steady_load(load, warm_up_s):
        begun, load_began = sample()
        sleep(window_s)
        ended, load_ended = sample()
    idle_s, load_s = idle_ended - idle_began, load_ended - load_began
    costs = {}
    for name in pids:
        idle_per_s = (idle[name] - before[name]) / idle_s
        beyond_idle = ended[name] - begun[name] - idle_per_s * load_s
        costs[name] = PartCost(
            idle_per_s * MS_PER_TICK, beyond_idle * MS_PER_TICK / (rate * load_s)
        )
    return costs


def table(costs: dict[str, PartCost]) -> list[str]:
    """A Markdown table, the costliest part first, and the sum."""
    lines = [
        "| part | idle, ms of CPU per s | ms of CPU per post beyond idle |",
        "| --- | --- | --- |",
    ]
    for name, cost in sorted(costs.items(), key=lambda item: -item[1].ms_per_post):
        lines.append(f"| {name} | {cost.idle_ms_per_s:.1f} | {cost.ms_per_post:.2f} |")
    idle = sum(cost.idle_ms_per_s for cost in costs.values())
    per_post = sum(cost.ms_per_post for cost in costs.values())
    lines.append(f"| **all** | {idle:.1f} | **{per_post:.2f}** |")
    return lines


def profile(parts: dict[str, int], load: Callable[[], object], into: Path) -> list[Path]:
    """A flame graph (py-spy, SVG) of each of the Python processes over WINDOW_S of load(),
    from WARM_UP_S after it began; returns the pictures written."""
    into.mkdir(parents=True, exist_ok=True)
    pictures = {name: into / f"{name.replace(' ', '-')}.svg" for name in parts}
    with steady_load(load):
        recorders = [
            subprocess.Popen(
                [*PY_SPY_RECORD, "--pid", str(pid), "--output", str(pictures[name])],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for name, pid in parts.items()
        ]
        for recorder in recorders:
            recorder.wait()
    return [picture for picture in pictures.values() if picture.exists()]


def native_parts() -> dict[str, list[int]]:
    """The native stack's parts: supervisord and each of its programs."""
    layout = Layout.from_env()
    supervisor = Supervisor(layout, read_env_file(layout.secrets))
    return {name: [pid] for name, pid in supervisor.pids().items()}


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest.cpu", description=__doc__)
    parser.add_argument("--rate", type=float, default=100, help="posts per second (default 100)")
    parser.add_argument("--subscribers", type=int, default=3, help="per author (default 3)")
    parser.add_argument(
        "--webhooks", action="store_true", help="subscribers register an endpoint at the receiver"
    )
    arguments = parser.parse_args()
    load_native_secrets()
    scenario = Scenario(
        rate=arguments.rate,
        duration_s=WARM_UP_S + WINDOW_S + 2,
        subscribers=arguments.subscribers,
        webhooks=arguments.webhooks,
    )
    summary: dict[str, Any] = {}

    def load() -> None:
        summary.update(perform(scenario).summary())

    costs = cost_per_post(native_parts, load, arguments.rate)
    if summary.get("errors", 1) or summary.get("lost", 1):
        print(
            f"the load was not sustained: {summary.get('errors')} errors, "
            f"{summary.get('lost')} lost; the figures below mean little"
        )
    print(f"at {arguments.rate:g} posts/s, {arguments.subscribers} subscriber(s) per author\n")
    print("\n".join(table(costs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
