"""Idempotency keys (the IETF httpapi draft "The Idempotency-Key HTTP Header Field"): a client
retrying a POST with the key of its first attempt gets that attempt's answer, never a second
post. A key is bound to the request it came with, and expires after a stated time."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from post_service.domain.posts import NewPost

KEY_MAX_CHARS: Final = 255
# The header's value: the draft's sf-string ("..."), or the same characters bare. No backslash,
# no quote, and no space: the key column ignores trailing spaces, so "k " and "k" would be one.
_KEY_CHARS: Final = rf"[!#-\[\]-~]{{1,{KEY_MAX_CHARS}}}"
KEY_PATTERN: Final = rf'^(?:"{_KEY_CHARS}"|{_KEY_CHARS})$'
# Long enough for any client's retries, short enough to keep the table small. Stated in the
# README and the OpenAPI description.
KEY_LIFETIME: Final = timedelta(hours=24)


@dataclass(frozen=True)
class IdempotencyKey:
    key: str
    fingerprint: str  # of the request the key came with

    @classmethod
    def of(cls, key: str, new_post: NewPost) -> IdempotencyKey:
        return cls(key, fingerprint(new_post))


def fingerprint(new_post: NewPost) -> str:
    """What makes two requests the same request: the post they ask for, field by field."""
    fields = [new_post.author_id, new_post.title, new_post.content]
    return hashlib.sha256(json.dumps(fields, ensure_ascii=False).encode()).hexdigest()


@dataclass(frozen=True)
class EarlierAttempt:
    """A committed attempt with the same key: the request it came with, and the post it made."""

    fingerprint: str
    post_id: int
