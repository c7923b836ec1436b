"""subscriptions, the processed_events inbox, and notifications

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

NOW = sa.text("CURRENT_TIMESTAMP(6)")


def upgrade() -> None:
    op.create_table(
        "subscriptions",
        sa.Column("author_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("subscriber_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("created_at", mysql.DATETIME(fsp=6), nullable=False, server_default=NOW),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_unicode_ci",
    )
    op.create_index("ix_subscriptions_subscriber_id", "subscriptions", ["subscriber_id"])
    op.create_table(
        "processed_events",
        sa.Column("event_id", mysql.CHAR(36, charset="ascii"), primary_key=True),
        sa.Column("processed_at", mysql.DATETIME(fsp=6), nullable=False, server_default=NOW),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_unicode_ci",
    )
    op.create_table(
        "notifications",
        sa.Column("notification_id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column("event_id", mysql.CHAR(36, charset="ascii"), nullable=False),
        sa.Column("subscriber_id", sa.BigInteger(), nullable=False),
        sa.Column("post_id", sa.BigInteger(), nullable=False),
        sa.Column("author_id", sa.BigInteger(), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("post_created_at", mysql.DATETIME(fsp=6), nullable=False),
        sa.Column("notified_at", mysql.DATETIME(fsp=6), nullable=False, server_default=NOW),
        sa.UniqueConstraint("event_id", "subscriber_id", name="uq_notifications_event_subscriber"),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_unicode_ci",
    )
    op.create_index(
        "ix_notifications_subscriber_newest", "notifications", ["subscriber_id", "notification_id"]
    )


def downgrade() -> None:
    op.drop_table("notifications")
    op.drop_table("processed_events")
    op.drop_table("subscriptions")
