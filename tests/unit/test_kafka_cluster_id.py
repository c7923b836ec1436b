"""The KRaft cluster id the native stack and the cluster format their Kafka storage with
(deploy/native/kafka.py): one the storage tool takes, whatever the random bytes."""

from __future__ import annotations

import base64
import uuid

from hypothesis import given
from hypothesis import strategies as st

from deploy.native.kafka import new_cluster_id

# A first byte from 0xF8 to 0xFB is six bits 111110: base64's 63rd letter, '-' in the URL-safe
# alphabet.
LEADING_DASH = st.builds(
    lambda first, rest: uuid.UUID(bytes=bytes([first]) + rest),
    st.integers(0xF8, 0xFB),
    st.binary(min_size=15, max_size=15),
)
NO_LEADING_DASH = st.uuids().filter(lambda drawn: not 0xF8 <= drawn.bytes[0] <= 0xFB)


@given(refused=st.lists(LEADING_DASH, max_size=5), kept=NO_LEADING_DASH)
def test_an_id_the_storage_tool_would_read_as_an_option_is_drawn_again(
    refused: list[uuid.UUID], kept: uuid.UUID
) -> None:
    draws = iter([*refused, kept])

    cluster_id = new_cluster_id(lambda: next(draws))

    assert not cluster_id.startswith("-")
    assert len(cluster_id) == 22
    assert base64.urlsafe_b64decode(cluster_id + "==") == kept.bytes
    assert next(draws, None) is None  # every refused draw was looked at, and nothing after
