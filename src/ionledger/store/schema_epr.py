"""EPR certificate tables (migration 0008): projections of the EPR records in the log, rebuilt
with the others. Grams are integers; CHECK constraints are the last guard against a balance
going negative or a source certified beyond its mass."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

# Their own metadata (store/schema.py registers copies on the store's): importing this module
# first must not import schema.py half way (schema.py imports this one at its end).
metadata = MetaData()

epr_certificates = Table(
    "epr_certificates",
    metadata,
    Column("id", Text, primary_key=True),
    Column("issuer", Text, nullable=False),
    Column("category", String(16), nullable=False),  # recycling | refurbishment
    Column("year", Integer, nullable=False),
    Column("grams", BigInteger, nullable=False),
    Column("seq", BigInteger, nullable=False),  # the issuing record
    CheckConstraint("grams > 0", name="ck_epr_certificates_grams"),
)
Index("ix_epr_certificates_issuer", epr_certificates.c.issuer)

# Which source events each certificate certifies, and how many grams of each.
epr_certificate_sources = Table(
    "epr_certificate_sources",
    metadata,
    Column("certificate_id", Text, nullable=False),
    Column("source_seq", BigInteger, nullable=False),
    Column("grams", BigInteger, nullable=False),
    PrimaryKeyConstraint("certificate_id", "source_seq", name="pk_epr_certificate_sources"),
)

# Each source event's processed mass and what of it is certified: each gram once.
epr_sources = Table(
    "epr_sources",
    metadata,
    Column("source_seq", BigInteger, primary_key=True, autoincrement=False),
    Column("issuer", Text, nullable=False),
    Column("category", String(16), nullable=False),
    Column("mass_grams", BigInteger, nullable=False),
    Column("certified_grams", BigInteger, nullable=False),
    CheckConstraint(
        "certified_grams >= 0 AND certified_grams <= mass_grams", name="ck_epr_sources_certified"
    ),
)

# Who holds how much of each certificate (rows at zero are deleted).
epr_holdings = Table(
    "epr_holdings",
    metadata,
    Column("certificate_id", Text, nullable=False),
    Column("holder", Text, nullable=False),
    Column("grams", BigInteger, nullable=False),
    PrimaryKeyConstraint("certificate_id", "holder", name="pk_epr_holdings"),
    CheckConstraint("grams >= 0", name="ck_epr_holdings_grams"),
)
Index("ix_epr_holdings_holder", epr_holdings.c.holder)

# Surrendered grams per certificate, producer and obligation year: they never move again.
epr_surrendered = Table(
    "epr_surrendered",
    metadata,
    Column("certificate_id", Text, nullable=False),
    Column("producer", Text, nullable=False),
    Column("year", Integer, nullable=False),
    Column("grams", BigInteger, nullable=False),
    PrimaryKeyConstraint("certificate_id", "producer", "year", name="pk_epr_surrendered"),
)

# The analytics contract (docs/analytics.md): surrendered kg per producer, year and category;
# ``grams`` is the exact total kg is computed from.
epr_surrenders = Table(
    "epr_surrenders",
    metadata,
    Column("producer", Text, nullable=False),
    Column("year", Integer, nullable=False),
    Column("category", String(16), nullable=False),
    Column("kg", Float, nullable=False),
    Column("grams", BigInteger, nullable=False),
    PrimaryKeyConstraint("producer", "year", "category", name="pk_epr_surrenders"),
)

# Operation IDs seen, with the digest of their request: a retry returns the first result.
epr_operations = Table(
    "epr_operations",
    metadata,
    Column("op_id", Text, primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("digest", String(64), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("result", Text, nullable=False),
)

EPR_PROJECTIONS: tuple[Table, ...] = (
    epr_certificates,
    epr_certificate_sources,
    epr_sources,
    epr_holdings,
    epr_surrendered,
    epr_surrenders,
    epr_operations,
)
