"""A webhook receiver as a subscriber would run one, on 127.0.0.2 (where the native stack lets
webhooks go), in a thread of the test: it verifies each request with the `standardwebhooks`
package and processes each `webhook-id` once. The tests script it: fail the first attempts of
each id, or hold one until released."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from deploy.parts import WEBHOOK_RECEIVERS_HOST


@dataclass
class Script:
    """What the receiver answers: 500 to the first `failures` attempts of each id; and, when
    `hold` is set, it keeps the first request it processes open until `release` is set."""

    failures: int = 0
    hold: bool = False
    held: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)


class Receiver(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, script: Script) -> None:
        super().__init__((WEBHOOK_RECEIVERS_HOST, 0), Handler)
        self.script = script
        self.secret = ""  # set once the endpoint is registered
        self.lock = threading.Lock()
        self.attempts: dict[str, list[bytes]] = defaultdict(list)
        self.processed: dict[str, dict[str, Any]] = {}  # webhook-id -> the notification
        self.duplicates = 0
        self.unverified = 0

    @property
    def url(self) -> str:
        return f"http://{WEBHOOK_RECEIVERS_HOST}:{self.server_port}/hooks/posts"

    def event_ids(self) -> list[str]:
        with self.lock:
            return [n["data"]["event_id"] for n in self.processed.values()]


class Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        received = self.rfile.read(int(self.headers.get("content-length", 0)))
        headers = {key: value for key, value in self.headers.items()}
        try:
            notification = Webhook(self.server.secret).verify(received, headers)
        except WebhookVerificationError:
            self.server.unverified += 1
            self.answer(401)
            return
        msg_id, hold = headers["webhook-id"], False
        with self.server.lock:
            self.server.attempts[msg_id].append(received)
            if len(self.server.attempts[msg_id]) <= self.server.script.failures:
                failed = True
            else:
                failed = False
                # Dedupe by webhook-id: a second delivery of the same id is answered, not redone.
                if msg_id in self.server.processed:
                    self.server.duplicates += 1
                else:
                    self.server.processed[msg_id] = notification
                    hold = self.server.script.hold and not self.server.script.held.is_set()
        if failed:
            self.answer(500)
            return
        if hold:
            self.server.script.held.set()
            self.server.script.release.wait(timeout=120)
        self.answer(200)

    def answer(self, status: int) -> None:
        try:
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()
        except OSError:
            pass  # the dispatcher is gone: its answer is lost, as in a real crash

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def receiving(script: Script) -> Iterator[Receiver]:
    server = Receiver(script)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        script.release.set()
        server.shutdown()
        server.server_close()
