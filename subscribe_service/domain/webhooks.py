"""Webhook endpoints and what is sent to them, as the Standard Webhooks specification has it: a
`whsec_` secret of 24 to 64 random bytes, a `webhook-id` that stays the same across retries, and a
JSON body that is the same bytes at every attempt."""

from __future__ import annotations

import base64
import json
import re
import secrets
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address
from typing import Final
from urllib.parse import urlsplit
from uuid import UUID, uuid5

from contract.events import format_timestamp
from subscribe_service.domain.notifications import Notification

SECRET_PREFIX: Final = "whsec_"  # noqa: S105 (the format's prefix, not a secret)
SECRET_MIN_BYTES: Final = 24
SECRET_MAX_BYTES: Final = 64
GENERATED_SECRET_BYTES: Final = 32
# The longest secret: the prefix and 64 bytes in base64, padded.
SECRET_MAX_CHARS: Final = len(SECRET_PREFIX) + 4 * ((SECRET_MAX_BYTES + 2) // 3)
URL_MAX_CHARS: Final = 2048
EVENT_TYPE: Final = "post.created"
# Written for JSON Schema (ECMA-262) as much as for Python: the OpenAPI document states them.
_B64: Final = "[A-Za-z0-9+/]"
_TAIL: Final = f"(?:{_B64}{{2}}==|{_B64}{{3}}=)"
# Padded standard base64 of 24 to 64 bytes: 8 to 20 groups of 3 bytes and any tail, or 21 groups
# (63 bytes) and a tail of one byte at most.
SECRET_PATTERN: Final = (
    f"^{SECRET_PREFIX}(?:(?:{_B64}{{4}}){{8,20}}{_TAIL}?|(?:{_B64}{{4}}){{21}}(?:{_B64}{{2}}==)?)$"
)
_PORT: Final = (
    "6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3}"
)
# http(s), a host of a URL's reg-name characters (no user, no brackets), maybe a port from 1 to
# 65535, then a path, query or fragment of visible ASCII.
URL_PATTERN: Final = (
    r"^https?://[A-Za-z0-9._~%!$&'()*+,;=-]+" f"(?::(?:{_PORT}))?" r"(?:[/?#][!-~]*)?$"
)
_SECRET: Final = re.compile(SECRET_PATTERN.removesuffix("$"))
_URL: Final = re.compile(URL_PATTERN.removesuffix("$"))


@dataclass(frozen=True)
class Endpoint:
    """Where one subscriber's notifications are POSTed, and the secret they are signed with."""

    subscriber_id: int
    url: str
    secret: str = field(repr=False)  # never in a log line nor an error message


def generate_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(GENERATED_SECRET_BYTES)).decode()


def check_secret(secret: str) -> str:
    """The secret if it is `whsec_` and the padded standard base64 of 24 to 64 bytes (the form
    SECRET_PATTERN states); else ValueError, whose message never repeats the secret."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError(f"the secret must start with {SECRET_PREFIX}")
    if not _SECRET.fullmatch(secret):
        raise ValueError(
            f"after {SECRET_PREFIX}, the secret must be the padded standard base64 of "
            f"{SECRET_MIN_BYTES} to {SECRET_MAX_BYTES} bytes"
        )
    raw = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    assert SECRET_MIN_BYTES <= len(raw) <= SECRET_MAX_BYTES, "the pattern admits no other size"
    return secret


def check_url(url: str) -> str:
    """The URL if it is http(s) with a host, no user or password, a port from 1 to 65535 if any,
    and only visible ASCII (the form URL_PATTERN states); else ValueError."""
    if len(url) > URL_MAX_CHARS:
        raise ValueError(f"the url must have at most {URL_MAX_CHARS} characters")
    if not url.startswith(("http://", "https://")):
        raise ValueError("the url must be http:// or https://")
    if not _URL.fullmatch(url):
        raise ValueError(
            "the url must have a host (no user, password or brackets), a port from 1 to 65535 "
            "if any, and only visible ASCII characters"
        )
    parts = urlsplit(url)
    assert parts.hostname, "the pattern admits no url without a host"
    assert parts.username is None, "the pattern admits no url with a user"
    return url


Address = IPv4Address | IPv6Address
Network = IPv4Network | IPv6Network
# IPv6 ranges that carry an IPv4 address on to it (NAT64, 6to4, Teredo, the deprecated
# IPv4-compatible form) or are deprecated as site-local: Python counts most of them global, but
# through them a name could still lead to a private IPv4 address.
CARRY_IPV4: Final = tuple(
    IPv6Network(network)
    for network in (
        "64:ff9b::/96",
        "64:ff9b:1::/48",
        "2002::/16",
        "2001::/32",
        "::/96",
        "fec0::/10",
    )
)


def may_receive(address: Address, allowed: Sequence[Network]) -> bool:
    """Whether webhooks may be POSTed to this address: one of the public internet, or one in a
    network the operator allowed (SUBSCRIBE_WEBHOOK_ALLOWED_NETWORKS). Not a loopback, private,
    link-local (169.254.169.254: the clouds' metadata service), shared, reserved or multicast
    one: else any subscriber could make the dispatcher POST to the system's own services (Kafka
    Connect's REST API restarts a connector on a POST) or to its neighbours'."""
    if any(address in network for network in allowed):
        return True
    if isinstance(address, IPv6Address):
        if address.ipv4_mapped is not None:
            return may_receive(address.ipv4_mapped, allowed)
        if any(address in network for network in CARRY_IPV4):
            return False
    return address.is_global and not address.is_multicast


def written_address(url: str) -> Address | None:
    """The URL's host if it is an IPv4 address, in any form the system's resolver reads as one
    (127.1 and 2130706433 are 127.0.0.1); else None: a name, resolved at each attempt. (The URLs
    taken have no brackets, so no IPv6 address.)"""
    host = urlsplit(url).hostname or ""
    try:
        return ip_address(host)
    except ValueError:
        pass
    try:
        return IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def check_address(url: str, allowed: Sequence[Network]) -> str:
    """The URL, unless its host is an IP address that may not receive webhooks, or one not
    written as four decimal numbers (ValueError). A name is taken: what it resolves to is checked
    at each attempt, as it may change."""
    address = written_address(url)
    if address is None:
        return url
    if str(address) != urlsplit(url).hostname:
        raise ValueError(
            f"the url's host is an IPv4 address in a legacy form: write it as {address}"
        )
    if not may_receive(address, allowed):
        raise ValueError(
            f"the url's address, {address}, is not a public one, and the service allows no"
            " network it is in (SUBSCRIBE_WEBHOOK_ALLOWED_NETWORKS)"
        )
    return url


def webhook_id(event_id: UUID, subscriber_id: int) -> str:
    """One id per event and subscriber, the same at every attempt: a receiver dedupes by it."""
    return f"msg_{uuid5(event_id, str(subscriber_id)).hex}"


def body(notification: Notification) -> bytes:
    """The JSON body, in the specification's envelope (type, timestamp, data), compact UTF-8.
    Written once, into the delivery's row, so that every attempt sends these same bytes."""
    document = {
        "type": EVENT_TYPE,
        "timestamp": format_timestamp(notification.created_at),
        "data": {
            "event_id": str(notification.event_id),
            "subscriber_id": notification.subscriber_id,
            "post_id": notification.post_id,
            "author_id": notification.author_id,
            "title": notification.title,
            "created_at": format_timestamp(notification.created_at),
        },
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
