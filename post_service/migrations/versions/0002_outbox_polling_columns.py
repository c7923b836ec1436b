"""the polling relay's columns: a publication order and when a row was published

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


def upgrade() -> None:
    # In `polling` mode rows stay until published; `sequence` is the order they are published in
    # (per-aggregate order), `published_at` is set once Kafka has acknowledged the row.
    op.add_column(
        "post_event_outbox",
        sa.Column("sequence", sa.BigInteger(), autoincrement=True, nullable=False),
    )
    op.create_unique_constraint("uq_post_event_outbox_sequence", "post_event_outbox", ["sequence"])
    op.execute("ALTER TABLE post_event_outbox MODIFY sequence BIGINT NOT NULL AUTO_INCREMENT")
    op.add_column("post_event_outbox", sa.Column("published_at", mysql.DATETIME(fsp=6)))
    op.create_index(
        "ix_post_event_outbox_unpublished", "post_event_outbox", ["published_at", "sequence"]
    )


def downgrade() -> None:
    op.drop_index("ix_post_event_outbox_unpublished", "post_event_outbox")
    op.drop_column("post_event_outbox", "published_at")
    op.drop_constraint("uq_post_event_outbox_sequence", "post_event_outbox", type_="unique")
    op.drop_column("post_event_outbox", "sequence")
