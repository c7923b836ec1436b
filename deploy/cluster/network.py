"""The cluster's network: one Linux network namespace per host, each joined to one bridge by a
veth pair, as hosts are by cables to a switch. Needs root (`ip` from Debian's iproute2)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys

from deploy.cluster.topology import BRIDGE, GATEWAY, HOSTS, PREFIX_LENGTH, Host


def ip(*arguments: str, namespace: str | None = None, check: bool = True) -> str:
    inside = ["netns", "exec", namespace, "ip"] if namespace else []
    done = subprocess.run(["ip", *inside, *arguments], capture_output=True, text=True)
    if check and done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(arguments)}: {done.stderr.strip()}")
    return done.stdout


def require_root() -> None:
    if os.geteuid() != 0:
        sys.exit("the cluster topology makes network namespaces: run it as root")


def namespaces() -> set[str]:
    return {line.split()[0] for line in ip("netns", "list").splitlines() if line.strip()}


def create() -> None:
    """Creates the bridge and every host that is missing; leaves the existing ones alone."""
    require_root()
    if not ip("link", "show", BRIDGE, check=False):
        ip("link", "add", BRIDGE, "type", "bridge")
        ip("addr", "add", f"{GATEWAY}/{PREFIX_LENGTH}", "dev", BRIDGE)
    ip("link", "set", BRIDGE, "up")
    existing = namespaces()
    for host in HOSTS:
        if host.namespace in existing and not ip("link", "show", host.link, check=False):
            ip("netns", "delete", host.namespace)  # half made: made again below
            existing.discard(host.namespace)
        if host.namespace not in existing:
            _create_host(host)
        # A link an aborted cut left down, or a bridge made anew: plugged in again.
        ip("link", "set", host.link, "master", BRIDGE, "up")


def _create_host(host: Host) -> None:
    ip("netns", "add", host.namespace)
    ip("link", "add", host.link, "type", "veth", "peer", "name", "eth0", "netns", host.namespace)
    ip("link", "set", host.link, "master", BRIDGE, "up")
    ip("addr", "add", f"{host.address}/{PREFIX_LENGTH}", "dev", "eth0", namespace=host.namespace)
    ip("link", "set", "eth0", "up", namespace=host.namespace)
    ip("link", "set", "lo", "up", namespace=host.namespace)


def destroy() -> None:
    """Removes every host and the bridge (a host's veth pair goes with its namespace)."""
    existing = namespaces()
    for host in HOSTS:
        if host.namespace in existing:
            ip("netns", "delete", host.namespace)
    ip("link", "delete", BRIDGE, check=False)


def pids(host: Host) -> list[int]:
    """Every process running on the host."""
    return [int(pid) for pid in ip("netns", "pids", host.namespace).split()]


def signal_all(host: Host, sent: signal.Signals) -> None:
    for pid in pids(host):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sent)


def cut(host: Host) -> None:
    """Unplugs the host's cable: its processes run on, and nothing reaches them or leaves."""
    ip("link", "set", host.link, "down")


def reconnect(host: Host) -> None:
    ip("link", "set", host.link, "up")


def is_connected(host: Host) -> bool:
    shown = ip("link", "show", host.link, check=False)
    return "state UP" in shown or ",UP" in shown
