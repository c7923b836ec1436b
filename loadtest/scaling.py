"""`make cluster-scaling`: what the cluster topology's extra instances buy on this machine, in one
run (`make cluster-up` first): consumer catch-up with 1, 2 and 3 consumers in the group, ingest
through 1 and 2 post service instances, and the CPU each host spends per post. The figures are
printed as a Markdown table for docs/scaling.md, which projects them."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from typing import Any

from sqlalchemy import Engine, func, select

from deploy.cluster import config, network
from deploy.cluster.topology import (
    BALANCER,
    CONSUMER_HOSTS,
    GATEWAY,
    HOSTS,
    POST_SERVICE_HOSTS,
    SUBSCRIBE_API,
    Host,
    where_services_reach,
)
from deploy.native.layout import read_env_file
from loadtest.cpu import PartCost, cost_per_post, table
from loadtest.faults import REPO
from loadtest.run import Scenario, audit_engines, perform
from subscribe_service.adapters.tables import notifications

CANDIDATE_RATES = (50, 100, 150, 200, 300, 400)


def scenario(rate: float, duration_s: float) -> Scenario:
    """Through the load balancer, with sixty authors: every partition of six carries events."""
    return Scenario(
        rate=rate,
        duration_s=duration_s,
        authors=60,
        webhooks=False,
        post_url=BALANCER.runs.url,
        subscribe_url=SUBSCRIBE_API.runs.url,
        receiver_host=GATEWAY,
        drain_timeout_s=300,
    )


def measure(chosen: Scenario) -> dict[str, Any]:
    print(f"--- {chosen.rate:g}/s for {chosen.duration_s:g}s {chosen.faults}", file=sys.stderr)
    return perform(chosen).summary()


def make(verb: str, host: Host) -> None:
    subprocess.run(["make", "--no-print-directory", f"{verb}-{host.name}"], cwd=REPO, check=True)


def catch_up(consumers: int, posts: int = 3000, rate: float = 100.0) -> float:
    """Events per second `consumers` members apply together, from their start to the end of a
    backlog of `posts` made while every consumer was down. Their start and the group's
    assignment count against them: the backlog is large enough for that to weigh little."""
    for host in CONSUMER_HOSTS:
        make("stop", host)
    try:
        engine, _ = audit_engines()
        before = notification_count(engine)
        # Not waited for: nobody consumes. The audit's waits end at once.
        backlog = scenario(rate, posts / rate)
        backlog.drain_timeout_s = 0
        accepted = measure(backlog)["accepted"]
        started = time.monotonic()
        members = [
            subprocess.Popen(["make", "--no-print-directory", f"start-{host.name}"], cwd=REPO)
            for host in CONSUMER_HOSTS[:consumers]
        ]
        while notification_count(engine) < before + accepted:
            time.sleep(0.2)
        drained_s = time.monotonic() - started
        for member in members:
            member.wait()
    finally:
        for host in CONSUMER_HOSTS:
            subprocess.run(["make", "--no-print-directory", f"start-{host.name}"], cwd=REPO)
    return float(accepted / drained_s)


def notification_count(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(notifications)) or 0


def sustained(summary: dict[str, Any]) -> bool:
    return bool(
        summary["errors"] == 0
        and summary["lost"] == summary["duplicated"] == 0
        and summary["http_ms"]["p99"] < 1000
        and summary["e2e_ms"]["p99"] < 2000
    )


def highest_sustained_rate(instances: int) -> float:
    """The highest candidate rate sustained through the load balancer with so many post service
    instances running (the others down)."""
    idle = POST_SERVICE_HOSTS[instances:]
    for host in idle:
        make("stop", host)
    best = 0.0
    try:
        for rate in CANDIDATE_RATES:
            if not sustained(measure(scenario(rate, 15))):
                break
            best = rate
    finally:
        for host in idle:
            make("start", host)
    return best


def cpu_per_post(rate: float = 50.0, duration_s: float = 30.0) -> dict[str, PartCost]:
    """Each host's CPU: idle, and per post beyond idle."""
    return cost_per_post(
        lambda: {host.name: network.pids(host) for host in HOSTS},
        lambda: measure(scenario(rate, duration_s)),
        rate,
    )


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest.scaling", description=__doc__)
    parser.add_argument("--only", choices=("cpu", "catch-up", "ingest"))
    only = parser.parse_args().only
    os.environ.update(read_env_file(config.layout().secrets))
    os.environ.update(where_services_reach())
    os.environ["STACK"] = "cluster"
    print(
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} by `make cluster-scaling`."
    )
    if only in (None, "cpu"):
        print_cpu(cpu_per_post())
    if only in (None, "catch-up"):
        print_ratios(
            "consumers in the group", "catch-up, events/s", {n: catch_up(n) for n in (1, 2, 3)}
        )
    if only in (None, "ingest"):
        print_ratios(
            "post service instances",
            "highest sustained posts/s",
            {n: highest_sustained_rate(n) for n in (1, 2)},
        )
    return 0


def print_ratios(what: str, figure: str, measured: dict[int, float]) -> None:
    print(f"\n| {what} | {figure} | ratio to 1 |\n| --- | --- | --- |")
    for n, value in measured.items():
        ratio = f"{value / measured[1]:.2f}" if measured[1] else "-"
        print(f"| {n} | {value:.0f} | {ratio} |")


def print_cpu(per_host: dict[str, PartCost]) -> None:
    print("\nCPU by host at 50 posts/s: idle, and beyond idle per post (the post, its event, its")
    print("notification, its replica row)\n")
    print("\n".join(table(per_host)))


if __name__ == "__main__":
    sys.exit(main())
