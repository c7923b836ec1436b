"""The subscribe service's tables (SQLAlchemy Core): the model its migrations are checked on."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, MetaData, String, Table, UniqueConstraint, text
from sqlalchemy.dialects.mysql import CHAR, DATETIME

from contract.events import TITLE_MAX_CHARS

metadata = MetaData()
NOW = text("CURRENT_TIMESTAMP(6)")

subscriptions = Table(
    "subscriptions",
    metadata,
    Column("author_id", BigInteger, primary_key=True, autoincrement=False),
    Column("subscriber_id", BigInteger, primary_key=True, autoincrement=False),
    Column("created_at", DATETIME(fsp=6), nullable=False, server_default=NOW),
    Index("ix_subscriptions_subscriber_id", "subscriber_id"),
)

# The inbox: one row per applied event, written in the same transaction as the event's effect.
processed_events = Table(
    "processed_events",
    metadata,
    Column("event_id", CHAR(36, charset="ascii"), primary_key=True),
    Column("processed_at", DATETIME(fsp=6), nullable=False, server_default=NOW),
)

notifications = Table(
    "notifications",
    metadata,
    Column("notification_id", BigInteger, primary_key=True, autoincrement=True),
    Column("event_id", CHAR(36, charset="ascii"), nullable=False),
    Column("subscriber_id", BigInteger, nullable=False),
    Column("post_id", BigInteger, nullable=False),
    Column("author_id", BigInteger, nullable=False),
    Column("title", String(TITLE_MAX_CHARS), nullable=False),
    Column("post_created_at", DATETIME(fsp=6), nullable=False),
    Column("notified_at", DATETIME(fsp=6), nullable=False, server_default=NOW),
    # A second notification of one event to one subscriber cannot exist, whatever the code does.
    UniqueConstraint("event_id", "subscriber_id", name="uq_notifications_event_subscriber"),
    Index("ix_notifications_subscriber_newest", "subscriber_id", "notification_id"),
)
