"""Whether the consumer still moves through the events waiting for it.

Each time a Kafka client bug has stopped this consumer (a commit that never returned, a member
the group forgot), the process stayed alive and healthy-looking while events piled up, until a
person restarted it. This is the general check behind those particular ones: a partition of this
consumer whose committed offset stays behind the partition's end without moving for the limit
is stalled, whatever the cause, and the consumer exits for its supervisor to start it anew (a
batch read again is a no-op in the inbox).
"""

from __future__ import annotations

from dataclasses import dataclass, field

Partition = tuple[str, int]


@dataclass
class ProgressWatch:
    limit_s: float
    # Each partition behind its end: its committed offset, and since when it has stood there.
    standing: dict[Partition, tuple[int, float]] = field(default_factory=dict)

    def stalled(self, now: float, offsets: dict[Partition, tuple[int, int]]) -> list[Partition]:
        """offsets: each partition's committed offset (the earliest kept, where the group has
        none) and end. The partitions behind whose committed offset has not moved for limit_s."""
        standing = {}
        for partition, (committed, end) in offsets.items():
            if committed >= end:
                continue  # caught up
            before = self.standing.get(partition)
            since = before[1] if before is not None and before[0] == committed else now
            standing[partition] = (committed, since)
        self.standing = standing
        return sorted(p for p, (_, since) in standing.items() if now - since >= self.limit_s)

    def forget(self) -> None:
        """After a check that could not measure (Kafka away): time starts again at the next one,
        so an outage is not counted against the consumer."""
        self.standing = {}
