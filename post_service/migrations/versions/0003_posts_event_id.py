"""each post keeps the id of the event it raised, so the event can be sent again, the same

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Posts made before this migration have none; reconciliation can resend only what has one.
    op.add_column("posts", sa.Column("event_id", mysql.CHAR(36, charset="ascii")))
    op.create_unique_constraint("uq_posts_event_id", "posts", ["event_id"])
    op.create_index("ix_posts_created_at", "posts", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_posts_created_at", "posts")
    op.drop_constraint("uq_posts_event_id", "posts", type_="unique")
    op.drop_column("posts", "event_id")
