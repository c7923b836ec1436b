"""The broker settings both stacks read (connect/kafka/broker.properties), where a default would
lose events in silence."""

from __future__ import annotations

from pathlib import Path

BROKER = Path(__file__).resolve().parents[2] / "connect" / "kafka" / "broker.properties"


def settings() -> dict[str, str]:
    lines = BROKER.read_text().splitlines()
    pairs = (line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))
    return {key.strip(): value.strip() for key, value in pairs}


def test_a_groups_offsets_outlive_the_events_so_a_long_absence_is_an_error_not_a_new_start() -> (
    None
):
    # Kafka's default keeps both 7 days: a group away longer looked new, started at the earliest
    # offset kept, and skipped what was deleted without a word.
    broker = settings()
    log_retention_minutes = int(broker["log.retention.hours"]) * 60
    assert int(broker["offsets.retention.minutes"]) > 4 * log_retention_minutes
