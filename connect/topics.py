"""Looking at Kafka as the tutorial does: `python -m connect.topics list`, or
`python -m connect.topics watch TOPIC` to print its messages, Debezium's change events pretty."""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid

from confluent_kafka import Consumer, Message, TopicPartition
from confluent_kafka.admin import AdminClient

from chassis.kafka_headers import UnreadableHeaders, header_pairs
from connect.connector import raw_topic
from contract.events import DEAD_LETTER_TOPIC, EVENTS_TOPIC
from deploy import parts

# Names for the topics a reader of the tutorial watches.
ALIASES = {"events": EVENTS_TOPIC, "dead-letters": DEAD_LETTER_TOPIC, "raw": raw_topic()}


def list_topics(bootstrap_servers: str) -> None:
    metadata = AdminClient({"bootstrap.servers": bootstrap_servers}).list_topics(timeout=10)
    for name in sorted(t for t in metadata.topics if not t.startswith("__")):
        print(f"{name:<55} {len(metadata.topics[name].partitions)} partition(s)")


def watch(bootstrap_servers: str, topic: str, last: int, wait_s: float) -> None:
    """Prints the last messages of every partition, then new ones until nothing came for wait_s."""
    consumer = Consumer(
        {"bootstrap.servers": bootstrap_servers, "group.id": f"watch-{uuid.uuid4()}"}
    )
    partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
    starts = []
    for p in partitions:
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
        starts.append(TopicPartition(topic, p, max(low, high - last)))
    consumer.assign(starts)
    quiet_since = time.monotonic()
    try:
        while time.monotonic() - quiet_since < wait_s:
            message = consumer.poll(0.5)
            if message is None or message.error():
                continue
            quiet_since = time.monotonic()
            print(heading(message))
            print(pretty(message.value()))
    finally:
        consumer.close()


SHOWN_CHARS = 2000


def heading(message: Message) -> str:
    """Where a message is, its key and headers, Debezium's own left out. A dead letter may carry
    any bytes there: what is not UTF-8 is shown escaped."""
    try:
        pairs = header_pairs(message)
    except UnreadableHeaders as error:
        pairs = [("(unreadable)", str(error))]
    headers = {k: text(v) for k, v in pairs if not k.startswith("__debezium")}
    where = f"--- partition {message.partition()} offset {message.offset()}"
    return f"{where} key {text(message.key())}" + (f" headers {headers}" if headers else "")


def text(raw: str | bytes | None) -> str:
    decoded = raw.decode("utf-8", errors="backslashreplace") if isinstance(raw, bytes) else raw
    return printable(decoded or "")


def printable(shown: str) -> str:
    """Lone surrogates, which JSON can carry and UTF-8 cannot, escaped: print() would fail."""
    return shown.encode("utf-8", errors="backslashreplace").decode("utf-8")


def pretty(value: bytes | None) -> str:
    """A message's value, indented if it is JSON, as it is otherwise, and shortened if huge."""
    if value is None:
        return "(tombstone)"
    try:
        document = json.loads(value)
        # A raw change event with its schema: the schema is long and says little; the payload.
        if isinstance(document, dict) and "schema" in document and "payload" in document:
            document = document["payload"]
        shown = printable(json.dumps(document, indent=2, ensure_ascii=False))
    except (ValueError, RecursionError):  # not JSON, or nested deeper than Python reads
        return repr(value[:SHOWN_CHARS])
    return shown if len(shown) <= SHOWN_CHARS else shown[:SHOWN_CHARS] + " ... (shortened)"


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m connect.topics", description=__doc__)
    parser.add_argument("--bootstrap-servers", default=parts.KAFKA.address)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="the topics and their partitions")
    watching = commands.add_parser("watch", help="print a topic's messages")
    watching.add_argument("topic", help=f"a topic, or one of {', '.join(ALIASES)}")
    watching.add_argument("--last", type=int, default=2, help="per partition (default 2)")
    watching.add_argument("--wait", type=float, default=5, help="seconds of quiet before exit")
    args = parser.parse_args()
    if args.command == "list":
        list_topics(args.bootstrap_servers)
    else:
        topic = ALIASES.get(args.topic, args.topic)
        watch(args.bootstrap_servers, topic, args.last, args.wait)
    return 0


if __name__ == "__main__":
    sys.exit(main())
