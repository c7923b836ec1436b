"""The README shows examples/webhook_receiver.py as it is: what it shows is what runs."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_the_readme_shows_the_example_receiver_verbatim() -> None:
    example = (REPO / "examples" / "webhook_receiver.py").read_text()
    assert f"```python\n{example}```\n" in (REPO / "README.md").read_text()
