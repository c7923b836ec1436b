"""Shared by every tier: the native stack's generated passwords, when there is a stack; what the
stack was doing when a test against it failed; hypothesis's settings."""

from __future__ import annotations

import gc
import os
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from deploy.native.layout import Layout, read_env_file
from tests.stack_report import stack_report

_secrets = Layout.from_env().secrets
if _secrets.exists():
    for _name, _value in read_env_file(_secrets).items():
        os.environ.setdefault(_name, _value)

# Hypothesis fails an example that ran past 200 ms, even when its rerun passes: on these shared
# two-core machines one stall of a quarter second is enough, whatever the code under test does.
settings.register_profile("shared-machine", deadline=None)
settings.load_profile("shared-machine")


@pytest.fixture(autouse=True)
def nothing_frozen_after() -> Iterator[None]:
    """An app started in a test freezes the heap, as a service does once ready (chassis.heap):
    in the one pytest process, every object alive at that moment would stay out of the
    collector's reach until the run's end."""
    yield
    gc.unfreeze()


# The tiers that run against the native stack: when one of their tests fails first, the stack's
# state at that moment is printed at the end of the run (tests/stack_report.py).
_STACK_TIERS = ("integration", "e2e")
_first_failure: pytest.StashKey[tuple[str, str]] = pytest.StashKey()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    tier = item.path.relative_to(Path(__file__).parent).parts[0]
    if report.failed and tier in _STACK_TIERS and _first_failure not in item.config.stash:
        try:
            item.config.stash[_first_failure] = (item.nodeid, stack_report())
        except KeyboardInterrupt:
            raise
        except BaseException as error:  # pytest-timeout's Failed too: never hide the failure
            item.config.stash[_first_failure] = (item.nodeid, f"(not gathered: {error!r})")
    return report


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    if _first_failure in config.stash:
        nodeid, report = config.stash[_first_failure]
        terminalreporter.section(f"the stack when {nodeid} failed")
        terminalreporter.write_line(report)
