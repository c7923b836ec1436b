"""idempotency keys: stored with the post they made, in the same transaction

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "idempotency_keys",
        sa.Column("idempotency_key", sa.String(255, collation="ascii_bin"), primary_key=True),
        sa.Column("request_fingerprint", mysql.CHAR(64, charset="ascii"), nullable=False),
        sa.Column("post_id", sa.BigInteger()),
        sa.Column("created_at", mysql.DATETIME(fsp=6), nullable=False),
        mysql_charset="ascii",
    )
    op.create_index("ix_idempotency_keys_created_at", "idempotency_keys", ["created_at"])


def downgrade() -> None:
    op.drop_table("idempotency_keys")
