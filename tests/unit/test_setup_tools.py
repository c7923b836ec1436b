"""The native stack's one-off setup tools (deploy/native/tools.py): silent when they work, and
when they fail, the error carries why, on whichever stream the tool wrote it."""

from __future__ import annotations

import sys

import pytest

from deploy.native.tools import SetupFailed, run_quietly


def test_a_tool_that_succeeds_prints_nothing(capfd: pytest.CaptureFixture[str]) -> None:
    run_quietly(
        [sys.executable, "-c", "import sys; print('formatted'); print('note', file=sys.stderr)"]
    )

    assert capfd.readouterr() == ("", "")


@pytest.mark.parametrize("stream", ["sys.stdout", "sys.stderr"])
def test_a_tool_that_fails_raises_with_what_it_said_on_either_stream(stream: str) -> None:
    # mariadb-install-db echoes its fatal errors to stdout; Kafka's storage tool uses stderr.
    said = f"import sys; print('FATAL ERROR: no datadir', file={stream}); sys.exit(3)"

    with pytest.raises(SetupFailed) as failed:
        run_quietly([sys.executable, "-c", said])

    assert "exited 3" in str(failed.value)
    assert "FATAL ERROR: no datadir" in str(failed.value)
