"""The HTTP sender against a real HTTP server on 127.0.0.1: Standard Webhooks headers a receiver
verifies with the `standardwebhooks` package, and every way an attempt can end."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import ip_network
from uuid import uuid4

import pytest
from standardwebhooks.webhooks import Webhook

from subscribe_service.adapters.webhook_sender import NOT_ALLOWED, HttpWebhookSender
from subscribe_service.domain.deliveries import Delivery, Outcome
from subscribe_service.domain.notifications import Notification
from subscribe_service.domain.webhooks import Endpoint, body, generate_secret, webhook_id
from subscribe_service.settings import Settings

Received = tuple[str, dict[str, str], bytes]
RECEIVER_NETWORK = "127.0.0.1/32"


class Receiver(ThreadingHTTPServer):
    """Answers each POST with the status its path names (/200, /500, /302, /slow)."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.received: list[Received] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}"


class Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        sent = self.rfile.read(int(self.headers["content-length"]))
        self.server.received.append((self.path, dict(self.headers), sent))
        if self.path == "/slow":
            time.sleep(2)
        status = 200 if self.path == "/slow" else int(self.path.strip("/"))
        self.send_response(status)
        if status == 302:
            self.send_header("location", "/200")
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def delivery_to(url: str | None, secret: str) -> Delivery:
    note = Notification(uuid4(), 7, 1, 2, "제목 🦖", datetime.now(UTC))
    endpoint = None if url is None else Endpoint(7, url, secret)
    return Delivery(
        1,
        webhook_id(note.event_id, 7),
        str(note.event_id),
        7,
        body(note),
        0,
        datetime.now(UTC),
        endpoint,
    )


def send(
    delivery: Delivery, allowed: tuple[str, ...] = (RECEIVER_NETWORK,), **settings: float
) -> Outcome:
    """One attempt, by a sender that allows the receiver's network (a loopback one) or `allowed`."""

    async def attempt() -> Outcome:
        sender = HttpWebhookSender(
            Settings(
                service_db_password="unused",
                webhook_allowed_networks=[ip_network(network) for network in allowed],
                **settings,  # type: ignore[arg-type]
            )
        )
        try:
            return await sender.send(delivery)
        finally:
            await sender.close()

    return asyncio.run(attempt())


def test_a_2xx_is_delivered_and_the_receiver_verifies_it_with_standardwebhooks(
    receiver: Receiver,
) -> None:
    secret = generate_secret()
    delivery = delivery_to(receiver.url + "/200", secret)

    assert send(delivery) == Outcome.success()

    ((_, headers, sent),) = receiver.received
    assert sent == delivery.body
    assert headers["webhook-id"] == delivery.webhook_id
    assert headers["content-type"] == "application/json"
    assert abs(int(headers["webhook-timestamp"]) - time.time()) < 5
    assert Webhook(secret).verify(sent, headers)["data"]["title"] == "제목 🦖"
    with pytest.raises(Exception, match="signature"):
        Webhook(generate_secret()).verify(sent, headers)


def test_an_address_not_allowed_is_never_connected_to_written_out_or_resolved_from_a_name(
    receiver: Receiver,
) -> None:
    # Loopback, as Kafka Connect's REST API is: without an allowance, nothing reaches it.
    written = send(delivery_to(receiver.url + "/200", generate_secret()), allowed=())
    assert not written.delivered
    assert written.error == "127.0.0.1 " + NOT_ALLOWED
    named = f"http://localhost:{receiver.server_port}/200"
    resolved = send(delivery_to(named, generate_secret()), allowed=())
    assert not resolved.delivered
    assert f"localhost resolves only to addresses that {NOT_ALLOWED}" in resolved.error
    assert "127.0.0.1" not in resolved.error  # what a name resolves to is not told
    # Written in a legacy form, the same address is refused too.
    legacy = send(
        delivery_to(f"http://127.1:{receiver.server_port}/200", generate_secret()), allowed=()
    )
    assert legacy.error == "127.0.0.1 " + NOT_ALLOWED
    assert receiver.received == []
    # Allowed, the same name is resolved and POSTed to.
    assert send(delivery_to(named, generate_secret())) == Outcome.success()
    assert len(receiver.received) == 1


def test_every_attempt_sends_the_same_id_and_bytes_with_its_own_signature(
    receiver: Receiver,
) -> None:
    delivery = delivery_to(receiver.url + "/500", generate_secret())
    send(delivery)
    time.sleep(1.1)  # a second later: another webhook-timestamp, so another signature
    send(delivery)
    first, second = ((h, b) for _, h, b in receiver.received)
    assert first[1] == second[1]
    assert first[0]["webhook-id"] == second[0]["webhook-id"]
    assert first[0]["webhook-signature"] != second[0]["webhook-signature"]


@pytest.mark.parametrize(
    ("path", "outcome"),
    [
        ("/500", Outcome.failure("HTTP 500")),
        ("/404", Outcome.failure("HTTP 404")),
        ("/302", Outcome.failure("HTTP 302")),  # not followed: the URL is to be updated
        ("/410", Outcome.failure("HTTP 410 Gone: the receiver wants no more", gone=True)),
    ],
)
def test_anything_but_a_2xx_is_a_failure(receiver: Receiver, path: str, outcome: Outcome) -> None:
    assert send(delivery_to(receiver.url + path, generate_secret())) == outcome
    assert [p for p, _, _ in receiver.received] == [path]


def test_an_endpoint_slower_than_the_attempt_timeout_is_a_failure(receiver: Receiver) -> None:
    started = time.monotonic()
    outcome = send(
        delivery_to(receiver.url + "/slow", generate_secret()),
        dispatcher_attempt_timeout_s=0.5,
        dispatcher_read_timeout_s=10,
    )
    assert outcome == Outcome.failure("no answer within 0.5s")
    # Ended by the attempt's bound, not the 10 s read timeout: with room for a busy machine.
    assert time.monotonic() - started < 5


def test_an_endpoint_that_refuses_the_connection_is_a_failure() -> None:
    with ThreadingHTTPServer(("127.0.0.1", 0), Handler) as closed:
        port = closed.server_port  # bound, then closed: nobody listens there
    outcome = send(delivery_to(f"http://127.0.0.1:{port}/200", generate_secret()))
    assert not outcome.delivered
    assert outcome.error.startswith("ClientConnectorError")


def test_a_removed_endpoint_is_a_failure_that_is_not_retried() -> None:
    outcome = send(delivery_to(None, generate_secret()))
    assert (outcome.delivered, outcome.gone) == (False, True)
