"""The rules of webhooks, without I/O: secrets, URLs, ids, bodies, and the retry policy."""

from __future__ import annotations

import base64
import random
import re
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from uuid import uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st
from standardwebhooks.webhooks import Webhook

from subscribe_service.domain.deliveries import (
    Delivery,
    Outcome,
    RetryPolicy,
    Status,
    judge,
)
from subscribe_service.domain.notifications import Notification
from subscribe_service.domain.webhooks import (
    SECRET_PATTERN,
    URL_PATTERN,
    body,
    check_address,
    check_secret,
    check_url,
    generate_secret,
    may_receive,
    webhook_id,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def secret_of(size: int) -> str:
    return "whsec_" + base64.b64encode(bytes(range(size))).decode()


def test_a_generated_secret_is_standard_and_new_each_time() -> None:
    first, second = generate_secret(), generate_secret()
    assert check_secret(first) == first
    assert first != second
    assert len(base64.b64decode(first.removeprefix("whsec_"))) == 32


@pytest.mark.parametrize("size", [24, 32, 64])
def test_a_secret_of_24_to_64_bytes_in_padded_base64_is_taken(size: int) -> None:
    assert check_secret(secret_of(size)) == secret_of(size)


@given(st.binary(min_size=0, max_size=80))
def test_a_secret_is_taken_exactly_when_it_encodes_24_to_64_bytes(raw: bytes) -> None:
    secret = "whsec_" + base64.b64encode(raw).decode()
    try:
        taken = check_secret(secret) == secret
    except ValueError:
        taken = False
    assert taken == (24 <= len(raw) <= 64)


@pytest.mark.parametrize(
    "secret",
    [
        secret_of(23),
        secret_of(65),
        secret_of(32).removeprefix("whsec_"),
        "whsk_" + secret_of(32).removeprefix("whsec_"),
        "whsec_" + base64.urlsafe_b64encode(b"\xff" * 32).decode(),  # - and _ are not base64
        "whsec_not base64 at all!!",
        "whsec_",
        "whsec_A===",
        secret_of(25).rstrip("="),  # unpadded: the OpenAPI pattern states padded base64
    ],
)
def test_any_other_secret_is_refused_without_being_repeated(secret: str) -> None:
    with pytest.raises(ValueError, match="secret") as refused:
        check_secret(secret)
    encoded = secret.removeprefix("whsec_")
    assert not encoded or encoded not in str(refused.value)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:9000/hook", "https://example.com/a?b=c#d", "http://h:65535"]
)
def test_an_http_or_https_url_with_a_host_is_taken(url: str) -> None:
    assert check_url(url) == url


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/",
        "example.com/hook",
        "http:///no-host",
        "https://user:pw@example.com/",
        "http://example.com:99999/",
        "http://example.com:0/",
        "http://exa mple.com/",
        "http://example.com/\n",
        "http://例え.jp/",
        "http://[::1/",
        "http://[::1]:80/",  # no brackets in the pattern: a host name or an IPv4 address
        "http://example.com:/",
        "https://example.com/" + "a" * 2048,
    ],
)
def test_any_other_url_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="url"):
        check_url(url)


@given(st.text(max_size=300) | st.from_regex(URL_PATTERN, fullmatch=True))
def test_a_url_is_taken_exactly_when_it_matches_the_pattern_the_api_states(url: str) -> None:
    matches = re.fullmatch(URL_PATTERN.strip("^$"), url) is not None and len(url) <= 2048
    try:
        taken = check_url(url) == url
    except ValueError:
        taken = False
    assert taken == matches


@given(st.from_regex(SECRET_PATTERN, fullmatch=True))
def test_every_secret_the_pattern_admits_is_taken(secret: str) -> None:
    assert check_secret(secret) == secret


# Where a subscriber must not make the dispatcher POST: the machine itself, private networks,
# link-local (the clouds' metadata service), shared (carrier NAT), "this network", multicast,
# reserved and broadcast.
NOT_PUBLIC = [
    ip_network(n)
    for n in (
        "127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16",
        "100.64.0.0/10", "0.0.0.0/8", "224.0.0.0/4", "240.0.0.0/4", "::1/128", "fc00::/7",
        "fe80::/10", "ff00::/8",
        # IPv6 that carries IPv4 on (NAT64, 6to4, Teredo, IPv4-compatible), and site-local
        "64:ff9b::/96", "64:ff9b:1::/48", "2002::/16", "2001::/32", "::/96", "fec0::/10",
    )
]  # fmt: skip


def an_address_in(
    network: IPv4Network | IPv6Network,
) -> st.SearchStrategy[IPv4Address | IPv6Address]:
    first = int(network.network_address)
    return st.integers(first, first + network.num_addresses - 1).map(
        lambda n: ip_address(n) if network.version == 4 else IPv6Address(n)
    )


@given(st.sampled_from(NOT_PUBLIC).flatmap(an_address_in))
def test_no_address_outside_the_public_internet_may_receive_webhooks_unless_allowed(
    address: IPv4Address | IPv6Address,
) -> None:
    assert not may_receive(address, [])
    assert may_receive(address, [ip_network(address)])
    assert not may_receive(address, [ip_network("203.0.113.0/24")])  # another network allowed
    if isinstance(address, IPv4Address):  # the same address, written as IPv6 maps it
        assert not may_receive(IPv6Address(f"::ffff:{address}"), [])
        with pytest.raises(ValueError, match="not a public one") as refused:
            check_address(f"http://{address}:8083/connectors", [])
        assert "SUBSCRIBE_WEBHOOK_ALLOWED_NETWORKS" in str(refused.value)


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"])
def test_a_public_address_may_receive_webhooks(address: str) -> None:
    assert may_receive(ip_address(address), [])


@pytest.mark.parametrize(
    "url", ["http://8.8.8.8/hooks", "https://hooks.example.com/x", "http://localhost:8083/"]
)
def test_a_public_address_or_a_name_is_taken_at_registration(url: str) -> None:
    # A name is checked at each attempt, by what it then resolves to (the sender's resolver).
    assert check_address(url, []) == url


@pytest.mark.parametrize("host", ["127.1", "2130706433", "0177.0.0.1", "0x7f.0.0.1", "8.8.2056"])
def test_an_ipv4_address_in_a_legacy_form_is_refused_at_registration(host: str) -> None:
    # The system's resolver reads each as an address (127.0.0.1 and 8.8.8.8): what may receive
    # is judged on that address, and the url must write it as it is.
    with pytest.raises(ValueError, match="legacy form"):
        check_address(f"http://{host}:8083/", [ip_network("0.0.0.0/0")])


def test_a_webhook_id_is_stable_per_event_and_subscriber_and_differs_otherwise() -> None:
    event, other = uuid4(), uuid4()
    assert webhook_id(event, 1) == webhook_id(event, 1)
    assert len({webhook_id(event, 1), webhook_id(event, 2), webhook_id(other, 1)}) == 3
    assert webhook_id(event, 1).startswith("msg_")
    assert "." not in webhook_id(event, 1)  # the specification: ids are joined by dots to sign


def test_the_body_is_the_notification_in_the_specification_envelope_and_verifies() -> None:
    note = Notification(uuid4(), 7, 8, 9, '안녕 🦖 \x00 "quoted"', T0)
    sent, secret, now = body(note), generate_secret(), datetime.now(UTC)
    signer = Webhook(secret)
    headers = {
        "webhook-id": webhook_id(note.event_id, 7),
        "webhook-timestamp": str(int(now.timestamp())),  # the second the signature was made in
        "webhook-signature": signer.sign(webhook_id(note.event_id, 7), now, sent.decode()),
    }
    received = signer.verify(sent, headers)
    assert received["type"] == "post.created"
    assert received["data"] == {
        "event_id": str(note.event_id),
        "subscriber_id": 7,
        "post_id": 8,
        "author_id": 9,
        "title": note.title,
        "created_at": "2026-01-01T00:00:00.000000Z",
    }
    assert body(note) == sent


def test_the_delay_doubles_from_the_base_up_to_the_cap_within_the_jitter() -> None:
    policy, rng = RetryPolicy(base_s=2, cap_s=60, jitter=0.5), random.Random(1)
    for attempts, nominal in [(1, 2), (2, 4), (3, 8), (5, 32), (6, 60), (40, 60), (10**6, 60)]:
        delays = [policy.delay(attempts, rng).total_seconds() for _ in range(200)]
        assert nominal * 0.5 <= min(delays) <= max(delays) <= nominal * 1.5
        assert max(delays) - min(delays) > nominal * 0.5  # jittered, not one fixed schedule


def delivery(attempts: int, created_at: datetime = T0) -> Delivery:
    return Delivery(1, "msg_x", str(uuid4()), 1, b"{}", attempts, created_at, None)


def test_a_failure_is_retried_later_until_the_last_attempt_then_dead() -> None:
    policy, rng, now = RetryPolicy(max_attempts=3), random.Random(), T0 + timedelta(minutes=1)
    again = judge(delivery(0), Outcome.failure("HTTP 500"), policy, now, rng)
    assert (again.status, again.attempts, again.error) == (Status.PENDING, 1, "HTTP 500")
    assert again.next_attempt_at > now
    last = judge(delivery(2), Outcome.failure("HTTP 500"), policy, now, rng)
    assert (last.status, last.attempts) == (Status.DEAD, 3)


def test_a_failure_after_the_hours_of_the_policy_is_dead_whatever_the_attempts() -> None:
    policy = RetryPolicy(max_attempts=100, max_age=timedelta(hours=24))
    late = T0 + timedelta(hours=24)
    verdict = judge(delivery(1), Outcome.failure("timeout"), policy, late, random.Random())
    assert verdict.status == Status.DEAD


def test_410_gone_is_dead_at_once_and_a_2xx_delivered() -> None:
    policy, rng = RetryPolicy(), random.Random()
    gone = judge(delivery(0), Outcome.failure("HTTP 410", gone=True), policy, T0, rng)
    assert gone.status == Status.DEAD
    assert judge(delivery(4), Outcome.success(), policy, T0, rng).status == Status.DELIVERED
