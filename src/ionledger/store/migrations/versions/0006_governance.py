"""Governance: the registry (from registry records in the log), custody transfers, who may see
which battery, alerts, recyclers' tonnage, credentials and signed captures.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision: str | None = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("batteries", sa.Column("ended_time", sa.String(32), nullable=True))
    op.add_column("batteries", sa.Column("commissioned_seq", sa.BigInteger, nullable=True))
    op.create_table(
        "registry_entries",
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("doc", sa.LargeBinary, nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("kind", "key", name="pk_registry_entries"),
    )
    op.create_table(
        "transfers",
        sa.Column("battery_id", sa.Text, nullable=False),
        sa.Column("ship_seq", sa.BigInteger, nullable=False),
        sa.Column("shipper", sa.Text, nullable=False),
        sa.Column("destination", sa.Text, nullable=True),
        sa.Column("receiver", sa.Text, nullable=True),
        sa.Column("event_time", sa.String(32), nullable=False),
        sa.Column("received_seq", sa.BigInteger, nullable=True),
        sa.PrimaryKeyConstraint("battery_id", "ship_seq", name="pk_transfers"),
    )
    op.create_table(
        "battery_parties",
        sa.Column("party", sa.Text, nullable=False),
        sa.Column("battery_id", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("party", "battery_id", name="pk_battery_parties"),
    )
    op.create_table(
        "alerts",
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("rule", sa.String(48), nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("reporter", sa.Text, nullable=False),
        sa.Column("province", sa.String(8), nullable=True),
        sa.Column("event_time", sa.String(32), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("details", sa.LargeBinary, nullable=False),
        sa.PrimaryKeyConstraint("seq", "rule", "subject", name="pk_alerts"),
    )
    op.create_index("ix_alerts_rule", "alerts", ["rule", "seq"])
    op.create_index("ix_alerts_reporter", "alerts", ["reporter", "seq"])
    op.create_table(
        "recycler_tonnage",
        sa.Column("enterprise", sa.Text, nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("kg", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("enterprise", "year", name="pk_recycler_tonnage"),
    )
    op.create_table(
        "credentials",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("enterprise", sa.Text, nullable=False),
        sa.Column("scopes", sa.Text, nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("label", sa.Text, nullable=True),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("expires_at", sa.String(32), nullable=True),
        sa.Column("revoked_at", sa.String(32), nullable=True),
    )
    op.create_table(
        "signed_captures",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("enterprise", sa.Text, nullable=False),
        sa.Column("public_key", sa.Text, nullable=False),
        sa.Column("signature", sa.Text, nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("first_seq", sa.BigInteger, nullable=True),
        sa.Column("last_seq", sa.BigInteger, nullable=True),
        sa.Column("created_at", sa.String(32), nullable=False),
    )


def downgrade() -> None:
    for table in ("signed_captures", "credentials", "recycler_tonnage"):
        op.drop_table(table)
    op.drop_index("ix_alerts_reporter", "alerts")
    op.drop_index("ix_alerts_rule", "alerts")
    for table in ("alerts", "battery_parties", "transfers", "registry_entries"):
        op.drop_table(table)
    op.drop_column("batteries", "commissioned_seq")
    op.drop_column("batteries", "ended_time")
