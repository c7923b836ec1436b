"""The subscribe service's tables (SQLAlchemy Core): the model its migrations are checked on."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Computed,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.mysql import CHAR, DATETIME, TINYINT, VARCHAR

from contract.events import TITLE_MAX_CHARS
from subscribe_service.domain.deliveries import ERROR_MAX_CHARS
from subscribe_service.domain.webhooks import SECRET_MAX_CHARS, URL_MAX_CHARS

metadata = MetaData()
NOW = text("CURRENT_TIMESTAMP(6)")

# One row per subscription period, [subscribed_at, unsubscribed_at): unsubscribing ends the
# period and keeps it, so that who was subscribed when a post was created stays answerable.
subscriptions = Table(
    "subscriptions",
    metadata,
    Column("subscription_id", BigInteger, primary_key=True, autoincrement=True),
    Column("author_id", BigInteger, nullable=False),
    Column("subscriber_id", BigInteger, nullable=False),
    Column("subscribed_at", DATETIME(fsp=6), nullable=False, server_default=NOW),
    Column("unsubscribed_at", DATETIME(fsp=6), nullable=True),
    # 1 while the period is open, NULL once it ended: the unique key below admits one open period
    # per subscriber and author (NULLs never collide), so subscribing twice, even at once, is one.
    Column("is_open", TINYINT, Computed("IF(unsubscribed_at IS NULL, 1, NULL)", persisted=False)),
    UniqueConstraint("author_id", "subscriber_id", "is_open", name="uq_subscriptions_open"),
    Index("ix_subscriptions_author_period", "author_id", "subscribed_at"),
    Index("ix_subscriptions_subscriber_id", "subscriber_id"),
)

# The inbox: one row per applied event, written in the same transaction as the event's effect;
# applied_seq says in which order events were applied (the load test audits a post's versions).
processed_events = Table(
    "processed_events",
    metadata,
    Column("event_id", CHAR(36, charset="ascii"), primary_key=True),
    Column("processed_at", DATETIME(fsp=6), nullable=False, server_default=NOW),
    Column("post_id", BigInteger, nullable=True),  # null for events applied before 0004
    Column("version", Integer, nullable=True),
    Column("applied_seq", BigInteger, nullable=False, autoincrement=True),
    UniqueConstraint("applied_seq", name="uq_processed_events_applied_seq"),
    Index("ix_processed_events_post", "post_id", "applied_seq"),
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

# The newest version of each post the consumer applied: an event whose version is not newer
# changes nothing. Notifications are listed with this title, and not at all once deleted_at is set.
post_states = Table(
    "post_states",
    metadata,
    Column("post_id", BigInteger, primary_key=True, autoincrement=False),
    Column("version", Integer, nullable=False),
    Column("title", String(TITLE_MAX_CHARS), nullable=True),  # None once deleted
    Column("deleted_at", DATETIME(fsp=6), nullable=True),
)

# The read model: a copy of the post database's posts, written by Debezium's JDBC sink (Kafka
# Connect, as read_model_sink), never by this service. replicated_at is the server's, at each write.
post_replicas = Table(
    "post_replicas",
    metadata,
    Column("post_id", BigInteger, primary_key=True, autoincrement=False),
    Column("author_id", BigInteger, nullable=False),
    Column("title", String(TITLE_MAX_CHARS), nullable=False),
    Column("content", Text, nullable=False),
    Column("created_at", DATETIME(fsp=6), nullable=False),
    Column("version", Integer, nullable=False),
    Column("updated_at", DATETIME(fsp=6), nullable=True),
    Column(
        "replicated_at",
        DATETIME(fsp=6),
        nullable=False,
        server_default=text("CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)"),
    ),
)

webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("subscriber_id", BigInteger, primary_key=True, autoincrement=False),
    Column("url", VARCHAR(URL_MAX_CHARS, charset="ascii", collation="ascii_bin"), nullable=False),
    # Kept as given: signing needs it. Never logged, never shown but in the answer that made it.
    Column(
        "secret", VARCHAR(SECRET_MAX_CHARS, charset="ascii", collation="ascii_bin"), nullable=False
    ),
    Column("updated_at", DATETIME(fsp=6), nullable=False, server_default=NOW),
)

# The delivery outbox: one row per notification to a subscriber with an endpoint, written in the
# consumer's transaction; a dispatcher claims due rows, POSTs them and records the outcome.
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("delivery_id", BigInteger, primary_key=True, autoincrement=True),
    Column("webhook_id", VARCHAR(40, charset="ascii", collation="ascii_bin"), nullable=False),
    Column("event_id", CHAR(36, charset="ascii"), nullable=False),
    Column("subscriber_id", BigInteger, nullable=False),
    # The exact bytes of every attempt: the receiver's signature check and dedupe rely on it.
    Column("body", LargeBinary, nullable=False),
    Column("status", VARCHAR(9, charset="ascii"), nullable=False),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("created_at", DATETIME(fsp=6), nullable=False),
    Column("next_attempt_at", DATETIME(fsp=6), nullable=False),
    Column("delivered_at", DATETIME(fsp=6), nullable=True),
    Column("last_error", String(ERROR_MAX_CHARS), nullable=True),
    UniqueConstraint("webhook_id", name="uq_webhook_deliveries_webhook_id"),
    # The dispatchers' claim: due pending rows, oldest due first.
    Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    Index("ix_webhook_deliveries_subscriber_newest", "subscriber_id", "delivery_id"),
)
