"""Faults on a schedule, such as `kafka@10s+20s`: stop Kafka 10 s into the run, start it 20 s later.

`PART@Ts+Ds` stops a part at T and starts it again D seconds later; `PART@Ts:kill` sends it
SIGKILL at T and lets its supervisor bring it back: supervisord natively (`make kill-PART`
returns once the part is ready again); under compose the engine's restart policy, as
`make kill-PART` kills the part's processes from inside its container (a kill through the engine
would count as a manual stop, never restarted) and returns once the engine has restarted it. The
fault's window ends when `make kill-PART` returns. PART is a part's name as `make status` shows
it (kafka, connect, subscribe-consumer, ...). Each fault runs the Makefile's targets, so it works
on both stacks.

In the cluster topology (STACK=cluster, deploy/cluster) PART is a host (kafka-2, connect-1, ...):
`PART@Ts+Ds` SIGKILLs its processes and keeps it down for D seconds, `PART@Ts:kill`
SIGKILLs its processes and lets its supervisor restart them, and `PART@Ts+Ds:cut` unplugs its
network link for D seconds while its processes run on.

The run's own webhook receiver takes faults too, for a duration: `receiver` (down),
`receiver-errors` and `receiver-timeouts` (see loadtest/receiver.py).
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from loadtest.receiver import Mishap, Receiver

REPO = Path(__file__).resolve().parents[1]
_FORMAT = re.compile(
    r"(?P<part>[a-z0-9-]+)@(?P<at>\d+(?:\.\d+)?)s"
    r"(?:\+(?P<for>\d+(?:\.\d+)?)s(?P<cut>:cut)?|(?P<kill>:kill))"
)


@dataclass(frozen=True)
class Fault:
    part: str
    at_s: float
    for_s: float | None  # None: a SIGKILL, the part comes back by itself
    cut: bool = False  # its network link is cut for for_s, instead of the part stopped

    @classmethod
    def parse(cls, text: str) -> Fault:
        match = _FORMAT.fullmatch(text)
        if match is None:
            raise ValueError(
                f"{text!r} is not PART@Ts+Ds, PART@Ts:kill or PART@Ts+Ds:cut, e.g. kafka@10s+20s"
            )
        duration = None if match["kill"] else float(match["for"])
        if match["part"] in set(Mishap) and (duration is None or match["cut"]):
            raise ValueError(
                f"{text!r}: the receiver misbehaves for a while, e.g. receiver@10s+30s"
            )
        return cls(match["part"], float(match["at"]), duration, bool(match["cut"]))

    def __str__(self) -> str:
        if self.for_s is None:
            return f"{self.part}@{self.at_s:g}s:kill"
        return f"{self.part}@{self.at_s:g}s+{self.for_s:g}s" + (":cut" if self.cut else "")


@dataclass
class FaultWindow:
    """When a fault really began and ended, in seconds from the start of the run."""

    fault: Fault
    began_s: float
    ended_s: float

    def overlaps(self, since_s: float, until_s: float) -> bool:
        """Whether the fault was in effect at some time from since_s to until_s."""
        return since_s <= self.ended_s and self.began_s <= until_s


def make(target: str) -> None:
    subprocess.run(
        ["make", "--no-print-directory", target],
        cwd=REPO,
        check=True,
        stdout=subprocess.DEVNULL,
        timeout=300,
    )


async def inject(fault: Fault, started: float, receiver: Receiver | None) -> FaultWindow:
    """Waits for the fault's time, applies it, and undoes it when its duration is over."""
    await asyncio.sleep(max(0.0, started + fault.at_s - time.monotonic()))
    began = time.monotonic() - started
    if fault.part in set(Mishap):
        if receiver is None:
            raise ValueError(f"{fault}: this run has no webhook receiver")
        await receiver.misbehave(Mishap(fault.part))
        await asyncio.sleep(max(0.0, started + fault.at_s + (fault.for_s or 0) - time.monotonic()))
        await receiver.recover()
        return FaultWindow(fault, began, time.monotonic() - started)
    if fault.for_s is None:
        await asyncio.to_thread(make, f"kill-{fault.part}")
        return FaultWindow(fault, began, time.monotonic() - started)
    stop, start = ("cut", "reconnect") if fault.cut else ("stop", "start")
    await asyncio.to_thread(make, f"{stop}-{fault.part}")
    # The duration counts from when the fault is in effect: a stop or a cut that took long to
    # apply must not shorten it.
    await asyncio.sleep(fault.for_s)
    await asyncio.to_thread(make, f"{start}-{fault.part}")
    return FaultWindow(fault, began, time.monotonic() - started)
