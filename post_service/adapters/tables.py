"""The post service's tables (SQLAlchemy Core), the model Alembic migrations are checked against."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, Index, MetaData, String, Table, Text
from sqlalchemy.dialects.mysql import CHAR, DATETIME

from post_service.domain.posts import TITLE_MAX_CHARS

metadata = MetaData()

posts = Table(
    "posts",
    metadata,
    Column("post_id", BigInteger, primary_key=True, autoincrement=True),
    Column("author_id", BigInteger, nullable=False),
    Column("title", String(TITLE_MAX_CHARS), nullable=False),
    Column("content", Text, nullable=False),
    Column("created_at", DATETIME(fsp=6), nullable=False),
    Index("ix_posts_author_id", "author_id"),
)

# Debezium's outbox columns, so its Event Router needs little configuration. A row is deleted in
# the transaction that inserted it: the binlog keeps the insert for Debezium, the table stays empty.
post_event_outbox = Table(
    "post_event_outbox",
    metadata,
    Column("id", CHAR(36, charset="ascii"), primary_key=True),
    Column("aggregatetype", String(64), nullable=False),
    Column("aggregateid", String(64), nullable=False),
    Column("type", String(64), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("created_at", DATETIME(fsp=6), nullable=False),
)
