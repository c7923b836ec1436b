"""The post events topic as the consumer sees it: batches in, offsets out, poison aside, and a
partition whose committed offset the topic no longer holds never skipped in silence."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import structlog
from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    TopicPartition,
)
from tenacity import Retrying, retry_if_exception, stop_after_delay, wait_exponential

from chassis.kafka_headers import header_pairs
from chassis.watchdog import exit_if_stuck
from subscribe_service.adapters.dead_letters import DeadLetters
from subscribe_service.adapters.progress import ProgressWatch
from subscribe_service.settings import Settings

log = structlog.get_logger()
# Longer than a Kafka outage the fault matrix survives (30 s) and the group's session timeout.
UNASSIGNED_LIMIT_S = 60.0
# Events waiting and the committed offset still for this long: stalled (adapters/progress.py).
# Measured every PROGRESS_CHECK_S, with calls that give up after PROGRESS_QUERY_S.
STALL_LIMIT_S = 60.0
PROGRESS_CHECK_S = 10.0
PROGRESS_QUERY_S = 5.0
# Commit attempts are retried for COMMIT_RETRY_S; one attempt ends by itself within librdkafka's
# socket.timeout.ms (60 s). A commit still running after both is stuck: the process exits.
COMMIT_RETRY_S = 30.0
COMMIT_LIMIT_S = COMMIT_RETRY_S + 60.0 + 10.0
# Once Kafka is back from a restart, the longest the consumer takes to go on: a commit stuck
# until COMMIT_LIMIT_S ends the process; then 60 s for supervisord's new one to start, to wait
# out the old member's session in the group (10 s) and to read the batch again, with room to
# spare. What waits for events after a Kafka outage waits this long before it calls one lost.
AFTER_KAFKA_RESTART_S = COMMIT_LIMIT_S + 60.0
# librdkafka's own lines (a broker gone, say) go through logging, as JSON like the rest; the
# clients hand them over in poll(), consume() and flush().
CLIENT_LOG = logging.getLogger("librdkafka")


# The coordinator moving or restarting is transient, whatever librdkafka's retriable flag says.
_COORDINATOR_MOVING = {
    KafkaError.NOT_COORDINATOR,
    KafkaError.COORDINATOR_NOT_AVAILABLE,
    KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
    KafkaError.REQUEST_TIMED_OUT,
    KafkaError._TIMED_OUT,
    KafkaError._TRANSPORT,
}


def _retriable(error: BaseException) -> bool:
    if not isinstance(error, KafkaException):
        return False
    kafka_error: KafkaError = error.args[0]
    return kafka_error.retriable() or kafka_error.code() in _COORDINATOR_MOVING


def headers_of(message: Message) -> dict[str, bytes]:
    pairs = header_pairs(message)
    return {key: value.encode() if isinstance(value, str) else value or b"" for key, value in pairs}


def position(message: Message) -> tuple[str, int, int]:
    """Topic, partition and offset: always set on a message that came from a topic."""
    topic, partition, offset = message.topic(), message.partition(), message.offset()
    if topic is None or partition is None or offset is None:
        raise ValueError("a message without a topic position")
    return topic, partition, offset


class EventStream:
    """Reads with auto commit off: the caller commits a batch's offsets after its DB commit."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.consumer = Consumer(
            {
                "bootstrap.servers": settings.kafka_bootstrap_servers,
                "group.id": settings.consumer_group,
                "enable.auto.commit": False,
                # A committed offset the topic no longer holds (retention deleted what this
                # group had not read) is an error on that partition, never a silent jump to the
                # earliest offset; a partition without a committed offset starts at the
                # beginning, see start_new_partitions_at_the_beginning.
                "auto.offset.reset": "error",
                # The consumer group protocol of KIP-848: the broker assigns partitions on
                # heartbeats. After a Kafka restart the consumer gets them back at once, where
                # the classic protocol waits out a whole session timeout first.
                "group.protocol": "consumer",
                # After an outage, be back within a second: the default backoff grows to 10 s.
                "reconnect.backoff.max.ms": 1000,
                "logger": CLIENT_LOG,
            }
        )
        self.dead_letters = DeadLetters(settings)
        # (topic, partition) of each partition stopped on an offset out of range.
        self.out_of_range: set[tuple[str, int]] = set()
        self.unassigned_since: float | None = time.monotonic()
        self.progress = ProgressWatch(STALL_LIMIT_S)
        self.progress_checked = time.monotonic()
        self.consumer.subscribe(
            [settings.events_topic], on_assign=start_new_partitions_at_the_beginning
        )

    def poll(self, timeout_s: float) -> list[Message]:
        """Waits up to timeout_s for a message, then takes those already fetched with it, up to
        a batch: consume(n, timeout) alone would wait for n messages, up to the whole timeout,
        and hold every event of a quiet moment back that long."""
        self.dead_letters.poll()
        self.leave_if_left_out()
        self.exit_if_stalled()
        first = self.consumer.poll(timeout_s)
        if first is None:
            return []
        messages = [first, *self.consumer.consume(self.settings.batch_size - 1, timeout=0)]
        for message in messages:
            error = message.error()
            if error is None or error.code() == KafkaError._PARTITION_EOF:
                continue
            if error.fatal() or error.code() == KafkaError._FATAL:
                raise KafkaException(error)  # the process exits; its supervisor starts it anew
            if error.code() == KafkaError._AUTO_OFFSET_RESET:
                self.stopped_out_of_range(message, error)
                continue
            log.warning("kafka consumer error; it recovers by itself", error=str(error))
        return [m for m in messages if m.error() is None]

    def leave_if_left_out(self) -> None:
        """Seen after Kafka restarts: the group (KIP-848) lost this member and it never asked to
        join again, polling on with no partition while the group stood empty. A consumer with no
        partition for UNASSIGNED_LIMIT_S exits, and its supervisor starts it anew."""
        if self.consumer.assignment():
            self.unassigned_since = None
            return
        now = time.monotonic()
        if self.unassigned_since is None:
            self.unassigned_since = now
        elif now - self.unassigned_since > UNASSIGNED_LIMIT_S:
            raise KafkaException(f"no partition assigned for {UNASSIGNED_LIMIT_S:g} s")

    def exit_if_stalled(self) -> None:
        """Every PROGRESS_CHECK_S: a partition of this consumer with events waiting and its
        committed offset unmoved for STALL_LIMIT_S ends the process, and its supervisor starts
        it anew. A partition stopped on an offset out of range waits for a person instead."""
        now = time.monotonic()
        since_last = now - self.progress_checked
        if since_last < PROGRESS_CHECK_S:
            return
        self.progress_checked = now
        if since_last > 2 * PROGRESS_CHECK_S:
            # The loop was held in a batch (database or dead-letter retries, which wait for their
            # part on purpose): only time seen while it polls counts.
            self.progress.forget()
        partitions = [
            p for p in self.consumer.assignment() if (p.topic, p.partition) not in self.out_of_range
        ]
        if not partitions:
            self.progress.forget()  # none to watch: leave_if_left_out sees to a long while
            return
        try:
            offsets = {}
            for partition in self.consumer.committed(partitions, timeout=PROGRESS_QUERY_S):
                if partition.error is not None:
                    continue  # not measured this time
                low, end = self.consumer.get_watermark_offsets(
                    partition, timeout=PROGRESS_QUERY_S, cached=False
                )
                committed = partition.offset if partition.offset >= 0 else low
                offsets[(partition.topic, partition.partition)] = (committed, end)
        except KafkaException as error:
            log.warning("progress not measured this time", error=str(error))
            self.progress.forget()
            return
        if stalled := self.progress.stalled(now, offsets):
            log.error(
                "stalled: events wait and the committed offsets have not moved; exiting",
                stalled={f"{t}[{p}]": offsets[(t, p)] for t, p in stalled},
                limit_s=self.progress.limit_s,
            )
            raise KafkaException(f"no progress for {self.progress.limit_s:g} s on {stalled}")

    def stopped_out_of_range(self, message: Message, error: KafkaError) -> None:
        """librdkafka reads no further on that partition: saying so loudly is all that is left."""
        partition = (message.topic() or "", message.partition() or 0)
        if partition not in self.out_of_range:
            log.error(
                "committed offset out of range: the events between it and the earliest kept "
                "were deleted unread; see what they held, then `make accept-gap`",
                topic=partition[0],
                partition=partition[1],
                committed=message.offset(),
                error=str(error),
            )
        self.out_of_range.add(partition)

    def commit(self, messages: Sequence[Message]) -> None:
        """Commits, per partition, the offset after the last message of the batch. A commit that
        never returns (COMMIT_LIMIT_S) ends the process, for its supervisor to start it anew."""
        last: dict[tuple[str, int], int] = {}
        for message in messages:
            topic, partition, offset = position(message)
            last[(topic, partition)] = offset
        offsets = [TopicPartition(t, p, offset + 1) for (t, p), offset in last.items()]
        retrying = Retrying(
            retry=retry_if_exception(_retriable),
            wait=wait_exponential(multiplier=0.1, max=2),
            stop=stop_after_delay(COMMIT_RETRY_S),
            reraise=True,
        )
        try:
            with exit_if_stuck(COMMIT_LIMIT_S):
                retrying(self.consumer.commit, offsets=offsets, asynchronous=False)
        except KafkaException as error:
            if error.args[0].fatal():
                raise
            # The group moved on (a rebalance): whoever owns the partitions now reads these
            # messages again, and the inbox turns them into no-ops.
            log.warning("offsets not committed; the batch will be redelivered", error=str(error))

    def dead_letter(self, message: Message, error: str) -> None:
        """Sends a message that can never be applied aside, with its error and original headers;
        returns only once Kafka acknowledged it (DeadLetterNotAcknowledged otherwise)."""
        self.dead_letters.send(message, error)

    def lag(self) -> int:
        """Messages of this consumer's partitions not read yet, from the last fetch's watermarks."""
        partitions = self.consumer.assignment()
        behind = 0
        for reading in self.consumer.position(partitions):
            _, high = self.consumer.get_watermark_offsets(reading, cached=True)
            if high >= 0 and reading.offset >= 0:
                behind += high - reading.offset
        return behind

    def close(self) -> None:
        """Leaves the group at once, so that its partitions move without waiting for a timeout."""
        try:
            self.consumer.close()
        finally:
            self.dead_letters.close()


def start_new_partitions_at_the_beginning(
    consumer: Consumer, partitions: list[TopicPartition]
) -> None:
    """A partition this group never committed an offset for is new to it: read it from the
    beginning. (With auto.offset.reset=error librdkafka would stop on it as on a lost offset.)
    Kafka keeps a group's offsets far longer than the events (offsets.retention.minutes), so a
    group away for longer than the retention still has its offset, and stops on it. Should the
    committed offsets not be readable, poll() raises, and the process exits to be started anew."""
    committed = consumer.committed(partitions, timeout=10)
    for partition in committed:
        if partition.offset < 0:
            partition.offset = OFFSET_BEGINNING
    consumer.incremental_assign(committed)
