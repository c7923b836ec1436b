"""post versions: each edit raises a post's version, and every event of the post carries it

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "posts", sa.Column("version", sa.Integer(), nullable=False, server_default=sa.text("1"))
    )
    op.add_column("posts", sa.Column("updated_at", mysql.DATETIME(fsp=6)))


def downgrade() -> None:
    op.drop_column("posts", "updated_at")
    op.drop_column("posts", "version")
