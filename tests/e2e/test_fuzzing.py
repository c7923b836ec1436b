"""Schema-based fuzzing of both running APIs with every schemathesis check (`--checks all`): no
5xx, every answer's status, headers and body as the OpenAPI document states them, schema-valid
requests taken and invalid ones refused with a 4xx, a created post there to read. Requests come
from the schema's boundaries, from a thousand generated cases an operation (valid and not, down to
random bytes that are not UTF-8), and from chains of calls.

FUZZ_POST_URL and FUZZ_SUBSCRIBE_URL point it at other instances, e.g. a branch's on other ports.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.running_stack import POST_URL, REPO, SUBSCRIBE_URL

APIS = {
    "post": os.environ.get("FUZZ_POST_URL", POST_URL),
    "subscribe": os.environ.get("FUZZ_SUBSCRIBE_URL", SUBSCRIBE_URL),
}
# The fuzzing phase needs its thousand cases an operation: a body of random bytes that are not
# UTF-8 is one case in a hundred or so. Chains of calls are slower: a hundred will do.
FUZZING_EXAMPLES = 1000
SETTINGS = f"""
[phases.fuzzing.generation]
max-examples = {FUZZING_EXAMPLES}

[phases.stateful.generation]
max-examples = 100
"""
TIMEOUT_S = 240
# Makes each valid Idempotency-Key unique: see the module for why.
HOOKS = "tests.e2e.fuzzing_hooks"


def schemathesis(
    api: str, workdir: Path
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """Runs `schemathesis run --checks all` on the API; its output, and its JSON report."""
    (workdir / "schemathesis.toml").write_text(SETTINGS)
    report = workdir / "report.json"
    done = subprocess.run(
        [
            *(sys.executable, "-m", "schemathesis.cli"),
            *("--config-file", "schemathesis.toml", "--no-color", "run", f"{api}/openapi.json"),
            *("--checks", "all", "--continue-on-failure", "--generation-database", "none"),
            *("--wait-for-schema", "30", "--request-timeout", "10"),
            *("--output-sanitize", "false"),  # it would hide author_id, taking it for a secret
            *("--report", "json", "--report-json-path", str(report)),
        ],
        cwd=workdir,  # where schemathesis keeps its cache: not in the repository
        env={
            **os.environ,
            "SCHEMATHESIS_HOOKS": "tests.e2e.fuzzing_hooks",
            "PYTHONPATH": str(REPO),
        },
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    return done, (json.loads(report.read_text()) if report.exists() else {})


def findings(output: str) -> str:
    """What schemathesis found, with a curl command for each, without its progress lines."""
    start = output.find(" FAILURES ")
    return output[start:] if start >= 0 else output


@pytest.mark.parametrize("service", sorted(APIS))
def test_every_answer_is_one_the_openapi_document_states(service: str, tmp_path: Path) -> None:
    done, report = schemathesis(APIS[service], tmp_path)
    assert report, f"schemathesis made no report:\n{done.stdout}\n{done.stderr}"
    operations = report["operations"]
    assert operations["tested"] == operations["total"] > 0, done.stdout
    assert report["test_cases"]["generated"] > FUZZING_EXAMPLES, done.stdout
    assert not report["errors"], findings(done.stdout)
    assert not report["failures"], findings(done.stdout)
    assert done.returncode == 0, done.stdout + done.stderr
