"""Analytics fact tables (docs/analytics.md) and their refresh watermark.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision: str | None = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fact_state",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("next_seq", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "fact_batteries",
        sa.Column("battery_id", sa.Text, primary_key=True),
        sa.Column("kind", sa.Text, nullable=True),
        sa.Column("chemistry", sa.Text, nullable=True),
        sa.Column("category", sa.Text, nullable=True),
        sa.Column("energy_kwh", sa.Float, nullable=True),
        sa.Column("mass_kg", sa.Float, nullable=True),
        sa.Column("battery_maker", sa.Text, nullable=True),
        sa.Column("producer", sa.Text, nullable=True),
        sa.Column("province", sa.Text, nullable=True),
        sa.Column("produced_day", sa.BigInteger, nullable=True),
        sa.Column("placed_day", sa.BigInteger, nullable=True),
        sa.Column("placed_year", sa.BigInteger, nullable=True),
        sa.Column("placed_via", sa.Text, nullable=True),
        sa.Column("retired_day", sa.BigInteger, nullable=True),
        sa.Column("retired_year", sa.BigInteger, nullable=True),
        sa.Column("retired_by", sa.Text, nullable=True),
        sa.Column("retired_province", sa.Text, nullable=True),
        sa.Column("collected_day", sa.BigInteger, nullable=True),
        sa.Column("collected_by", sa.Text, nullable=True),
        sa.Column("collected_whitelisted", sa.BigInteger, nullable=True),
        sa.Column("whitelisted_day", sa.BigInteger, nullable=True),
        sa.Column("whitelisted_by", sa.Text, nullable=True),
        sa.Column("repurposed_day", sa.BigInteger, nullable=True),
        sa.Column("repurposed_by", sa.Text, nullable=True),
        sa.Column("recycled_day", sa.BigInteger, nullable=True),
        sa.Column("recycled_by", sa.Text, nullable=True),
        sa.Column("soh_pct", sa.Float, nullable=True),
        sa.Column("capacity_ah", sa.Float, nullable=True),
        sa.Column("resistance_ohm", sa.Float, nullable=True),
        sa.Column("test_day", sa.BigInteger, nullable=True),
        sa.Column("test_seq", sa.BigInteger, nullable=True),
        sa.Column("negative_events", sa.BigInteger, nullable=False),
        sa.Column("original_id", sa.Text, nullable=True),
        sa.Column("vehicle", sa.Text, nullable=True),
    )
    op.create_index("ix_fact_batteries_producer", "fact_batteries", ["producer", "placed_year"])
    op.create_index(
        "ix_fact_batteries_cohort",
        "fact_batteries",
        ["province", "producer", "chemistry", "category", "placed_year", "retired_year"],
        sqlite_where=sa.text("kind = 'pack' AND original_id IS NULL"),
        postgresql_where=sa.text("kind = 'pack' AND original_id IS NULL"),
    )
    op.create_table(
        "fact_recovery",
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("recycler", sa.Text, nullable=False),
        sa.Column("province", sa.Text, nullable=True),
        sa.Column("year", sa.BigInteger, nullable=False),
        sa.Column("day", sa.BigInteger, nullable=False),
        sa.Column("route", sa.Text, nullable=True),
        sa.Column("input_kg", sa.Float, nullable=True),
        sa.Column("element", sa.Text, nullable=False),
        sa.Column("contained_kg", sa.Float, nullable=True),
        sa.Column("recovered_kg", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("seq", "element", name="pk_fact_recovery"),
    )
    op.create_table(
        "fact_recycling_inputs",
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("battery_id", sa.Text, nullable=False),
        sa.Column("pack_id", sa.Text, nullable=True),
        sa.Column("producer", sa.Text, nullable=True),
        sa.Column("chemistry", sa.Text, nullable=True),
        sa.Column("mass_kg", sa.Float, nullable=True),
        sa.Column("energy_kwh", sa.Float, nullable=True),
        sa.Column("year", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("seq", "battery_id", name="pk_fact_recycling_inputs"),
    )
    op.create_table(
        "fact_transfers",
        sa.Column("battery_id", sa.Text, nullable=False),
        sa.Column("ship_seq", sa.BigInteger, nullable=False),
        sa.Column("shipper", sa.Text, nullable=False),
        sa.Column("receiver", sa.Text, nullable=True),
        sa.Column("from_province", sa.Text, nullable=True),
        sa.Column("to_province", sa.Text, nullable=True),
        sa.Column("ship_day", sa.BigInteger, nullable=False),
        sa.Column("receive_day", sa.BigInteger, nullable=True),
        sa.PrimaryKeyConstraint("battery_id", "ship_seq", name="pk_fact_transfers"),
    )
    op.create_table(
        "fact_reporting",
        sa.Column("reporter", sa.Text, nullable=False),
        sa.Column("province", sa.Text, nullable=False),
        sa.Column("year", sa.BigInteger, nullable=False),
        sa.Column("reports", sa.BigInteger, nullable=False),
        sa.Column("late", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("reporter", "province", "year", name="pk_fact_reporting"),
    )


def downgrade() -> None:
    for table in (
        "fact_reporting",
        "fact_transfers",
        "fact_recycling_inputs",
        "fact_recovery",
        "fact_batteries",
        "fact_state",
    ):
        op.drop_table(table)
