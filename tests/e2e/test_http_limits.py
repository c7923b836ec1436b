"""A client that writes its whole body before it reads (Python's urllib and http.client) still
reads the 413 of a body over the limit, instead of finding the connection reset. Without the
drain in chassis/body_limit.py, most of these attempts ended in ECONNRESET."""

from __future__ import annotations

import http.client
import urllib.error
import urllib.request
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from tests.running_stack import POST_URL

ATTEMPTS = 5


def body_of(megabytes: int) -> bytes:
    content = b"x" * (megabytes * 1_000_000)
    return b'{"author_id": 1, "title": "big", "content": "' + content + b'"}'


@pytest.mark.parametrize("megabytes", [3, 10])
def test_urllib_writing_a_body_over_the_limit_reads_its_413(megabytes: int) -> None:
    request = urllib.request.Request(  # noqa: S310 (our own http URL)
        f"{POST_URL}/posts", data=body_of(megabytes), headers={"Content-Type": "application/json"}
    )
    for _ in range(ATTEMPTS):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=30)  # noqa: S310
        assert refused.value.code == 413


def chunks(body: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


def test_a_chunked_body_over_the_limit_gets_its_413_too() -> None:
    address = urlsplit(POST_URL)
    for _ in range(ATTEMPTS):
        connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=30)
        try:
            connection.request(
                "POST", "/posts", chunks(body_of(3)), {"Content-Type": "application/json"},
                encode_chunked=True,
            )  # fmt: skip
            answer = connection.getresponse()
            assert answer.status == 413
            assert b"over" in answer.read()
        finally:
            connection.close()
