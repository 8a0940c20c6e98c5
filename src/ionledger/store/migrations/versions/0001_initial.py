"""Events, and the battery / genealogy / test-result projections.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("identity", sa.Text, nullable=False, unique=True),
        sa.Column("hash_id", sa.Text, nullable=True),
        sa.Column("event_type", sa.String(32), nullable=False),
        sa.Column("event_time", sa.String(32), nullable=False),
        sa.Column("record_time", sa.String(32), nullable=False),
        sa.Column("reporter", sa.Text, nullable=False),
        sa.Column("biz_step", sa.Text, nullable=True),
        sa.Column("leaf_index", sa.BigInteger, nullable=True, unique=True),
        sa.Column("doc", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "event_batteries",
        sa.Column("battery_id", sa.Text, nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("battery_id", "seq", name="pk_event_batteries"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "batteries",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("kind", sa.String(16), nullable=True),
        sa.Column("chemistry", sa.String(16), nullable=True),
        sa.Column("category", sa.String(16), nullable=True),
        sa.Column("rated_energy_kwh", sa.Float, nullable=True),
        sa.Column("capacity_ah", sa.Float, nullable=True),
        sa.Column("mass_kg", sa.Float, nullable=True),
        sa.Column("manufacturer", sa.String(8), nullable=True),
        sa.Column("first_seen", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16), nullable=True),
        sa.Column("state_time", sa.String(32), nullable=True),
        sa.Column("state_seq", sa.BigInteger, nullable=True),
        sa.Column("custodian", sa.Text, nullable=True),
        sa.Column("custodian_time", sa.String(32), nullable=True),
        sa.Column("custodian_seq", sa.BigInteger, nullable=True),
        sa.Column("province", sa.String(8), nullable=True),
        sa.Column("province_time", sa.String(32), nullable=True),
        sa.Column("province_seq", sa.BigInteger, nullable=True),
        sa.Column("event_count", sa.Integer, nullable=False),
    )
    op.create_table(
        "genealogy",
        sa.Column("child", sa.Text, nullable=False),
        sa.Column("parent", sa.Text, nullable=False),
        sa.Column("relation", sa.String(16), nullable=False),
        sa.Column("added_seq", sa.BigInteger, nullable=False),
        sa.Column("removed_seq", sa.BigInteger, nullable=True),
        sa.PrimaryKeyConstraint("child", "parent", "added_seq", name="pk_genealogy"),
    )
    op.create_index("ix_genealogy_parent", "genealogy", ["parent"])
    op.create_table(
        "test_results",
        sa.Column("battery_id", sa.Text, nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("event_time", sa.String(32), nullable=False),
        sa.Column("soh_pct", sa.Float, nullable=True),
        sa.Column("capacity_ah", sa.Float, nullable=True),
        sa.Column("resistance_ohm", sa.Float, nullable=True),
        sa.PrimaryKeyConstraint("battery_id", "seq", name="pk_test_results"),
    )


def downgrade() -> None:
    for table in ("test_results", "genealogy", "batteries", "event_batteries", "events"):
        op.drop_table(table)
