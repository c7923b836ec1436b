"""the inbox records each event's post and version, and the order events were applied in

`applied_seq` grows with every event the consumer applies, in the order of its statements: the
load test's audit reads a post's versions in that order and counts any that goes down.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "ALTER TABLE processed_events"
        " ADD COLUMN post_id BIGINT NULL,"
        " ADD COLUMN version INT NULL,"
        " ADD COLUMN applied_seq BIGINT NOT NULL AUTO_INCREMENT,"
        " ADD UNIQUE KEY uq_processed_events_applied_seq (applied_seq),"
        " ADD KEY ix_processed_events_post (post_id, applied_seq)"
    )


def downgrade() -> None:
    op.execute(
        "ALTER TABLE processed_events"
        " DROP KEY ix_processed_events_post,"
        " DROP KEY uq_processed_events_applied_seq,"
        " DROP COLUMN applied_seq, DROP COLUMN version, DROP COLUMN post_id"
    )
