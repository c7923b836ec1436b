"""The post service's tables (SQLAlchemy Core), the model Alembic migrations are checked against."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.mysql import CHAR, DATETIME

from contract.events import TITLE_MAX_CHARS

metadata = MetaData()

posts = Table(
    "posts",
    metadata,
    Column("post_id", BigInteger, primary_key=True, autoincrement=True),
    Column("author_id", BigInteger, nullable=False),
    Column("title", String(TITLE_MAX_CHARS), nullable=False),
    Column("content", Text, nullable=False),
    Column("created_at", DATETIME(fsp=6), nullable=False),
    # The PostCreated event's id: `python -m post_service reconcile` sends it again, the same.
    Column("event_id", CHAR(36, charset="ascii")),
    # 1 when created, one more at each edit; the deletion's event carries the next one.
    Column("version", Integer, nullable=False, server_default=text("1")),
    Column("updated_at", DATETIME(fsp=6)),
    Index("ix_posts_author_id", "author_id"),
    Index("ix_posts_created_at", "created_at"),
    UniqueConstraint("event_id", name="uq_posts_event_id"),
)

# Debezium's outbox columns, so its Event Router needs little configuration. In `cdc` mode a row
# is deleted in the transaction that inserted it: the binlog keeps the insert for Debezium and the
# table stays empty. In `polling` mode rows stay until the relay published them (`sequence` is
# their order, `published_at` set once Kafka acknowledged them) and are purged later.
post_event_outbox = Table(
    "post_event_outbox",
    metadata,
    Column("id", CHAR(36, charset="ascii"), primary_key=True),
    Column("aggregatetype", String(64), nullable=False),
    Column("aggregateid", String(64), nullable=False),
    Column("type", String(64), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("created_at", DATETIME(fsp=6), nullable=False),
    Column("sequence", BigInteger, nullable=False, autoincrement=True),
    Column("published_at", DATETIME(fsp=6)),
    # A row the relay can never publish (its payload cannot be read) is set aside, not retried.
    Column("set_aside_at", DATETIME(fsp=6)),
    Column("set_aside_error", Text),
    UniqueConstraint("sequence", name="uq_post_event_outbox_sequence"),
    Index("ix_post_event_outbox_unpublished", "published_at", "sequence"),
)

# The Idempotency-Key of each POST /posts that had one, written in the transaction of the post it
# made: a retry finds it and answers that post. Expired keys are purged (KEY_LIFETIME).
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("idempotency_key", String(255, collation="ascii_bin"), primary_key=True),
    Column("request_fingerprint", CHAR(64, charset="ascii"), nullable=False),
    Column("post_id", BigInteger),
    Column("created_at", DATETIME(fsp=6), nullable=False),
    Index("ix_idempotency_keys_created_at", "created_at"),
    mysql_charset="ascii",
)
