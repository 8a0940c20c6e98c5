"""EPR certificates: certificates, their source events, holdings, surrenders and operation IDs
(projections of the EPR records in the log).

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision: str | None = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "epr_certificates",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("issuer", sa.Text, nullable=False),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("grams", sa.BigInteger, nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.CheckConstraint("grams > 0", name="ck_epr_certificates_grams"),
    )
    op.create_index("ix_epr_certificates_issuer", "epr_certificates", ["issuer"])
    op.create_table(
        "epr_certificate_sources",
        sa.Column("certificate_id", sa.Text, nullable=False),
        sa.Column("source_seq", sa.BigInteger, nullable=False),
        sa.Column("grams", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("certificate_id", "source_seq", name="pk_epr_certificate_sources"),
    )
    op.create_table(
        "epr_sources",
        sa.Column("source_seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("issuer", sa.Text, nullable=False),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("mass_grams", sa.BigInteger, nullable=False),
        sa.Column("certified_grams", sa.BigInteger, nullable=False),
        sa.CheckConstraint(
            "certified_grams >= 0 AND certified_grams <= mass_grams",
            name="ck_epr_sources_certified",
        ),
    )
    op.create_table(
        "epr_holdings",
        sa.Column("certificate_id", sa.Text, nullable=False),
        sa.Column("holder", sa.Text, nullable=False),
        sa.Column("grams", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("certificate_id", "holder", name="pk_epr_holdings"),
        sa.CheckConstraint("grams >= 0", name="ck_epr_holdings_grams"),
    )
    op.create_index("ix_epr_holdings_holder", "epr_holdings", ["holder"])
    op.create_table(
        "epr_surrendered",
        sa.Column("certificate_id", sa.Text, nullable=False),
        sa.Column("producer", sa.Text, nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("grams", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("certificate_id", "producer", "year", name="pk_epr_surrendered"),
    )
    op.create_table(
        "epr_surrenders",
        sa.Column("producer", sa.Text, nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("kg", sa.Float, nullable=False),
        sa.Column("grams", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("producer", "year", "category", name="pk_epr_surrenders"),
    )
    op.create_table(
        "epr_operations",
        sa.Column("op_id", sa.Text, primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("result", sa.Text, nullable=False),
    )


def downgrade() -> None:
    for table in ("epr_operations", "epr_surrenders", "epr_surrendered"):
        op.drop_table(table)
    op.drop_index("ix_epr_holdings_holder", "epr_holdings")
    op.drop_table("epr_holdings")
    op.drop_table("epr_sources")
    op.drop_table("epr_certificate_sources")
    op.drop_index("ix_epr_certificates_issuer", "epr_certificates")
    op.drop_table("epr_certificates")
