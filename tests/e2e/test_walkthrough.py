"""The README's walkthrough, run as written: every command, checked against what it shows.

In the README's console blocks a line `$ command` is run with bash from the repository; the lines
after it are what it must print, in order, possibly with other lines between; `...` stands for
anything, and a line starting with `!` must not be printed at all. Commands that only look
(listing topics or notifications, grepping logs) are asked again until their output matches,
with a deadline, since what they show arrives asynchronously.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from subscribe_service.adapters.kafka import AFTER_KAFKA_RESTART_S
from tests.running_stack import REPO

LOOKING = (
    "make topics", "make watch-raw", "make notifications", "make feed", "grep ", "make status",
    "curl -s localhost:8081/metrics", "curl -s 'localhost:8082/subscribers/",
)  # fmt: skip
# A step that only looks is retried this long: the tutorial stops and starts Kafka.
DEADLINE_S = AFTER_KAFKA_RESTART_S


@dataclass
class Step:
    command: str
    expected: list[str] = field(default_factory=list)

    @property
    def only_looks(self) -> bool:
        return self.command.startswith(LOOKING)


def walkthrough_steps() -> list[Step]:
    readme = (REPO / "README.md").read_text()
    section = readme.split("<!-- walkthrough -->")[1].split("<!-- /walkthrough -->")[0]
    steps: list[Step] = []
    for block in re.findall(r"```console\n(.*?)```", section, re.S):
        for line in block.splitlines():
            if line.startswith("$ "):
                steps.append(Step(line[2:]))
            elif line.strip():
                steps[-1].expected.append(line)
    return steps


def pattern(line: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in line.split("...")))


def mismatch(expected: list[str], output: str) -> str | None:
    """None when the output shows the expected lines in order and none of the forbidden ones."""
    lines = [line.rstrip() for line in output.splitlines()]
    for forbidden in (e[1:] for e in expected if e.startswith("!")):
        if any(pattern(forbidden).fullmatch(line) for line in lines):
            return f"printed what it must not: {forbidden!r}"
    cursor = 0
    for wanted in (e for e in expected if e != "..." and not e.startswith("!")):
        found = next(
            (i for i in range(cursor, len(lines)) if pattern(wanted).fullmatch(lines[i])), None
        )
        if found is None:
            return f"no line like {wanted!r} after line {cursor}"
        cursor = found + 1
    return None


def run(step: Step) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while True:
        done = subprocess.run(
            ["bash", "-c", step.command], cwd=REPO, capture_output=True, text=True, timeout=300
        )
        output = done.stdout + done.stderr
        problem = f"exit {done.returncode}" if done.returncode else mismatch(step.expected, output)
        if problem is None:
            return
        if not step.only_looks or time.monotonic() > deadline:
            pytest.fail(f"$ {step.command}\n{problem}\n--- it printed:\n{output[-3000:]}")
        time.sleep(1)


@pytest.fixture
def restored_stack() -> Iterator[None]:
    yield
    for command in ("make start-kafka", "make relay-mode MODE=cdc", "make receiver-stop"):
        subprocess.run(["bash", "-c", command], cwd=REPO, capture_output=True, check=False)


def test_the_walkthrough_has_steps_to_run() -> None:
    steps = walkthrough_steps()
    assert len(steps) > 15
    assert all(step.command.strip() for step in steps)


# Its steps stop and start Kafka four times, and a step that only looks may wait DEADLINE_S.
@pytest.mark.timeout(900)
def test_every_step_of_the_readme_walkthrough_does_what_the_readme_says(
    restored_stack: None,
) -> None:
    for step in walkthrough_steps():
        run(step)


def test_the_matcher_tells_a_match_from_a_mismatch() -> None:
    output = "a\nrelay mode: cdc\n3 notifications of 3 posts, 0 doubled\n"
    assert mismatch(["relay mode: cdc", "... 0 doubled"], output) is None
    assert mismatch(["... 0 doubled", "relay mode: cdc"], output) is not None
    assert mismatch(["!...notifications..."], output) is not None
