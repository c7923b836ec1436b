"""post replicas: the read model, a copy of the post database's `posts` kept by a JDBC sink

Debezium's JDBC sink connector (Kafka Connect, connector `read-model-sink`) upserts each post's
row by its primary key from the change events of the `posts` table and deletes the row of a deleted
post. It writes as `read_model_sink`, whose rights are this table's rows only, and never creates
or alters the table (schema.evolution=none): the columns are those of `posts` but `event_id`, plus
`replicated_at`, which the sink does not write and the server sets at each insert or update, so
that the read model's lag can be measured against `updated_at` (every server runs in UTC).

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
        "post_replicas",
        sa.Column("post_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("author_id", sa.BigInteger(), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("created_at", mysql.DATETIME(fsp=6), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", mysql.DATETIME(fsp=6), nullable=True),
        sa.Column(
            "replicated_at",
            mysql.DATETIME(fsp=6),
            nullable=False,
            server_default=sa.text("CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)"),
        ),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_unicode_ci",
    )


def downgrade() -> None:
    op.drop_table("post_replicas")
