"""The garbage collector of a long-running process: its startup heap out of the collector's way."""

from __future__ import annotations

import gc


def freeze_startup_heap() -> None:
    """Collects what startup left as garbage, then moves every object still alive (the modules,
    the app, its pools and settings) to the collector's permanent generation: a full collection
    then walks only what was made since.

    In the post service at 1,000 posts/s, full collections came about once a second and each
    held the event loop 47 to 72 ms, walking some 100,000 objects that live as long as the
    process; a request arriving meanwhile waited as long. Frozen, the same collections took 1.5
    to 3.8 ms (docs/benchmarks.md, "Garbage collection pauses"). Call it once, when the process is
    ready to work: a frozen object is never freed, so nothing made per request may be frozen."""
    gc.collect()
    gc.freeze()
