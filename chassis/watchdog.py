"""A bound on a blocking call that has none of its own.

confluent-kafka's synchronous commit waits for the group coordinator's answer without a timeout,
and after a Kafka restart that answer can never come (seen here: a consumer stuck for good in
`consumer.commit(asynchronous=False)` once the broker reloaded its group coordinator; upstream,
confluent-kafka-python#1801). Such a call sits in C code, where neither a Python signal handler nor
tenacity's deadline can reach it, and a process that is alive is never restarted by its
supervisor. faulthandler's timer runs in a C thread of its own: past the limit it writes every
thread's stack to stderr (the process's log) and exits with status 1, and the supervisor starts
the process anew. Only callers whose work is safe to cut short may use it: the consumer's
offsets are committed after its database commit, so a restart reads the batch again and the
inbox turns it into no-ops."""

from __future__ import annotations

import faulthandler
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def exit_if_stuck(limit_s: float) -> Iterator[None]:
    """Runs the block; if it has not finished after limit_s, dumps the stacks and exits. One
    bound at a time per process (faulthandler keeps one timer): bounds do not nest."""
    faulthandler.dump_traceback_later(limit_s, exit=True)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()
