"""outbox rows the polling relay can never publish are set aside, with their error

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("post_event_outbox", sa.Column("set_aside_at", mysql.DATETIME(fsp=6)))
    op.add_column("post_event_outbox", sa.Column("set_aside_error", sa.Text()))


def downgrade() -> None:
    op.drop_column("post_event_outbox", "set_aside_error")
    op.drop_column("post_event_outbox", "set_aside_at")
