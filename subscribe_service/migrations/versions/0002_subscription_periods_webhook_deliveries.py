"""subscription periods, webhook endpoints and the webhook delivery outbox

A subscription becomes a period, [subscribed_at, unsubscribed_at): each existing subscription is
an open period since it was created. Unsubscribing ends a period instead of deleting it, so that
who was subscribed when a post was created can be answered at any later time.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

NOW = sa.text("CURRENT_TIMESTAMP(6)")
ASCII_BIN = {"charset": "ascii", "collation": "ascii_bin"}


def upgrade() -> None:
    op.execute(
        "ALTER TABLE subscriptions"
        " DROP PRIMARY KEY,"
        " ADD COLUMN subscription_id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY FIRST,"
        " CHANGE COLUMN created_at subscribed_at DATETIME(6) NOT NULL"
        " DEFAULT CURRENT_TIMESTAMP(6),"
        " ADD COLUMN unsubscribed_at DATETIME(6) NULL"
    )
    # A second statement: the generated column reads unsubscribed_at, which must exist first.
    op.execute(
        "ALTER TABLE subscriptions"
        " ADD COLUMN is_open TINYINT"
        " GENERATED ALWAYS AS (IF(unsubscribed_at IS NULL, 1, NULL)) VIRTUAL,"
        " ADD UNIQUE KEY uq_subscriptions_open (author_id, subscriber_id, is_open),"
        " ADD INDEX ix_subscriptions_author_period (author_id, subscribed_at)"
    )
    op.create_table(
        "webhook_endpoints",
        sa.Column("subscriber_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("url", mysql.VARCHAR(2048, **ASCII_BIN), nullable=False),
        sa.Column("secret", mysql.VARCHAR(94, **ASCII_BIN), nullable=False),
        sa.Column("updated_at", mysql.DATETIME(fsp=6), nullable=False, server_default=NOW),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_unicode_ci",
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("delivery_id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column("webhook_id", mysql.VARCHAR(40, **ASCII_BIN), nullable=False),
        sa.Column("event_id", mysql.CHAR(36, charset="ascii"), nullable=False),
        sa.Column("subscriber_id", sa.BigInteger(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("status", mysql.VARCHAR(9, charset="ascii"), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("created_at", mysql.DATETIME(fsp=6), nullable=False),
        sa.Column("next_attempt_at", mysql.DATETIME(fsp=6), nullable=False),
        sa.Column("delivered_at", mysql.DATETIME(fsp=6), nullable=True),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.UniqueConstraint("webhook_id", name="uq_webhook_deliveries_webhook_id"),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_unicode_ci",
    )
    op.create_index(
        "ix_webhook_deliveries_due", "webhook_deliveries", ["status", "next_attempt_at"]
    )
    op.create_index(
        "ix_webhook_deliveries_subscriber_newest",
        "webhook_deliveries",
        ["subscriber_id", "delivery_id"],
    )


def downgrade() -> None:
    op.drop_table("webhook_deliveries")
    op.drop_table("webhook_endpoints")
    # Back to one row per current subscription: ended periods are forgotten.
    op.execute("DELETE FROM subscriptions WHERE unsubscribed_at IS NOT NULL")
    op.execute(
        "ALTER TABLE subscriptions"
        " DROP INDEX uq_subscriptions_open,"
        " DROP INDEX ix_subscriptions_author_period,"
        " DROP COLUMN is_open"
    )
    op.execute(
        "ALTER TABLE subscriptions"
        " DROP COLUMN unsubscribed_at,"
        " CHANGE COLUMN subscribed_at created_at DATETIME(6) NOT NULL"
        " DEFAULT CURRENT_TIMESTAMP(6),"
        " MODIFY subscription_id BIGINT NOT NULL"  # no longer AUTO_INCREMENT: it may be dropped
    )
    op.execute(
        "ALTER TABLE subscriptions"
        " DROP PRIMARY KEY,"
        " DROP COLUMN subscription_id,"
        " ADD PRIMARY KEY (author_id, subscriber_id)"
    )
