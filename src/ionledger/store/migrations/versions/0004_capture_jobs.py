"""Capture jobs of the EPCIS REST binding, kept so that GET /capture/{id} outlives a restart.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision: str | None = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "capture_jobs",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("doc", sa.LargeBinary, nullable=False),
    )
    op.create_index("ix_capture_jobs_created", "capture_jobs", ["created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_capture_jobs_created", "capture_jobs")
    op.drop_table("capture_jobs")
