"""The verifiable log: tiles and checkpoints; the event's leaf index is its seq.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "log_tiles",
        sa.Column("level", sa.Integer, nullable=False),
        sa.Column("idx", sa.BigInteger, nullable=False),
        sa.Column("hashes", sa.LargeBinary, nullable=False),
        sa.Column("interior", sa.LargeBinary, nullable=False),
        sa.PrimaryKeyConstraint("level", "idx", name="pk_log_tiles"),
    )
    op.create_table(
        "log_checkpoints",
        sa.Column("size", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
    )
    # The reserved leaf_index column goes: seq is gapless and every event is a leaf, so the
    # leaf index is the seq (batch mode rebuilds the table on SQLite, which cannot drop it).
    with op.batch_alter_table("events") as batch:
        batch.drop_column("leaf_index")


def downgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("leaf_index", sa.BigInteger, nullable=True, unique=True))
    op.drop_table("log_checkpoints")
    op.drop_table("log_tiles")
