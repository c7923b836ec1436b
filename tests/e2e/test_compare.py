"""`make compare`: V1 loses posts while Kafka is down, V2 and V3 lose and double none, and CDC
puts less load on the post database than polling, all in the same run."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.running_stack import LOAD_RUN_TIMEOUT_S, REPO


# Three load runs, two of which may wait out the consumer's worst recovery from a Kafka restart.
@pytest.mark.timeout(LOAD_RUN_TIMEOUT_S + 60)
def test_compare_shows_direct_losing_and_cdc_costing_less_than_polling() -> None:
    done = subprocess.run(
        [
            sys.executable, "-m", "loadtest.compare", "--rate", "10", "--duration", "20",
            "--fault", "kafka@5s+8s",
        ],
        cwd=REPO, capture_output=True, text=True, timeout=LOAD_RUN_TIMEOUT_S, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    modes = json.loads((REPO / "reports" / "compare.json").read_text())["modes"]

    assert set(modes) == {"direct", "polling", "cdc"}
    assert modes["direct"]["lost"] > 0
    for safe in ("polling", "cdc"):
        assert (modes[safe]["lost"], modes[safe]["duplicated"]) == (0, 0), safe
        assert modes[safe]["delivered"] == modes[safe]["accepted"] == 200, safe
    assert modes["cdc"]["relay_statements_per_s"] < modes["polling"]["relay_statements_per_s"]
    assert (REPO / "reports" / "compare.png").stat().st_size > 0
