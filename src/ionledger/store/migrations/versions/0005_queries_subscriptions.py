"""Named queries and their webhook subscriptions (EPCIS REST /queries), with delivery positions.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision: str | None = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "named_queries",
        sa.Column("name", sa.String(128), primary_key=True),
        sa.Column("query", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
    )
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("query_name", sa.String(128), nullable=False),
        sa.Column("dest", sa.Text, nullable=False),
        sa.Column("signature_token", sa.Text, nullable=True),
        sa.Column("stream", sa.Boolean, nullable=False),
        sa.Column("schedule", sa.Text, nullable=True),
        sa.Column("report_if_empty", sa.Boolean, nullable=False),
        sa.Column("initial_record_time", sa.String(32), nullable=True),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("next_seq", sa.BigInteger, nullable=False),
        sa.Column("delivered_record_time", sa.String(32), nullable=True),
        sa.Column("last_notified_at", sa.String(32), nullable=True),
        sa.Column("next_run", sa.String(32), nullable=True),
        sa.Column("lease_owner", sa.String(64), nullable=True),
        sa.Column("lease_until", sa.String(32), nullable=True),
    )
    op.create_index("ix_subscriptions_query", "subscriptions", ["query_name", "id"])


def downgrade() -> None:
    op.drop_index("ix_subscriptions_query", "subscriptions")
    op.drop_table("subscriptions")
    op.drop_table("named_queries")
