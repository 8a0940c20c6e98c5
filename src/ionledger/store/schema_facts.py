"""The analytics fact tables (docs/analytics.md): a projection like the others, refreshed
incrementally by :mod:`ionledger.analytics.facts` from the events after ``fact_state.next_seq``.

Every integer is a BigInteger (int64 on every engine: SQLite, PostgreSQL, Parquet, Spark read the
same type), dates are day numbers, flags 0/1, so that one Ibis expression gives the same numbers
everywhere.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    Index,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    text,
)

# Their own metadata, so that this module imports nothing of schema.py (which imports it at its
# end, and registers copies of these tables on the store's metadata).
metadata = MetaData()

# The refresh watermark: every event with a lower seq is in the facts. One row (id 0); no row
# means nothing is (a rebuild empties it with the facts).
fact_state = Table(
    "fact_state",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("next_seq", BigInteger, nullable=False),
)

fact_batteries = Table(
    "fact_batteries",
    metadata,
    Column("battery_id", Text, primary_key=True),
    Column("kind", Text, nullable=True),
    Column("chemistry", Text, nullable=True),
    Column("category", Text, nullable=True),
    Column("energy_kwh", Float, nullable=True),
    Column("mass_kg", Float, nullable=True),
    Column("battery_maker", Text, nullable=True),
    Column("producer", Text, nullable=True),
    Column("province", Text, nullable=True),
    Column("produced_day", BigInteger, nullable=True),
    Column("placed_day", BigInteger, nullable=True),
    Column("placed_year", BigInteger, nullable=True),
    Column("placed_via", Text, nullable=True),  # sale / installation
    Column("retired_day", BigInteger, nullable=True),
    Column("retired_year", BigInteger, nullable=True),
    Column("retired_by", Text, nullable=True),
    Column("retired_province", Text, nullable=True),
    Column("collected_day", BigInteger, nullable=True),
    Column("collected_by", Text, nullable=True),
    Column("collected_whitelisted", BigInteger, nullable=True),
    Column("whitelisted_day", BigInteger, nullable=True),
    Column("whitelisted_by", Text, nullable=True),
    Column("repurposed_day", BigInteger, nullable=True),
    Column("repurposed_by", Text, nullable=True),
    Column("recycled_day", BigInteger, nullable=True),
    Column("recycled_by", Text, nullable=True),
    Column("soh_pct", Float, nullable=True),
    Column("capacity_ah", Float, nullable=True),
    Column("resistance_ohm", Float, nullable=True),
    Column("test_day", BigInteger, nullable=True),
    Column("test_seq", BigInteger, nullable=True),
    Column("negative_events", BigInteger, nullable=False),
    Column("original_id", Text, nullable=True),
    Column("vehicle", Text, nullable=True),  # the vehicle it was first installed in
)

fact_recovery = Table(
    "fact_recovery",
    metadata,
    Column("seq", BigInteger, nullable=False),
    Column("recycler", Text, nullable=False),
    Column("province", Text, nullable=True),
    Column("year", BigInteger, nullable=False),
    Column("day", BigInteger, nullable=False),
    Column("route", Text, nullable=True),
    Column("input_kg", Float, nullable=True),
    Column("element", Text, nullable=False),
    Column("contained_kg", Float, nullable=True),
    Column("recovered_kg", Float, nullable=False),
    PrimaryKeyConstraint("seq", "element", name="pk_fact_recovery"),
)

fact_recycling_inputs = Table(
    "fact_recycling_inputs",
    metadata,
    Column("seq", BigInteger, nullable=False),
    Column("battery_id", Text, nullable=False),
    Column("pack_id", Text, nullable=True),  # the pack a consumed module was part of (or itself)
    Column("producer", Text, nullable=True),
    Column("chemistry", Text, nullable=True),
    Column("mass_kg", Float, nullable=True),
    Column("energy_kwh", Float, nullable=True),
    Column("year", BigInteger, nullable=False),
    PrimaryKeyConstraint("seq", "battery_id", name="pk_fact_recycling_inputs"),
)

fact_transfers = Table(
    "fact_transfers",
    metadata,
    Column("battery_id", Text, nullable=False),
    Column("ship_seq", BigInteger, nullable=False),
    Column("shipper", Text, nullable=False),
    Column("receiver", Text, nullable=True),
    Column("from_province", Text, nullable=True),
    Column("to_province", Text, nullable=True),
    Column("ship_day", BigInteger, nullable=False),
    Column("receive_day", BigInteger, nullable=True),
    PrimaryKeyConstraint("battery_id", "ship_seq", name="pk_fact_transfers"),
)

fact_reporting = Table(
    "fact_reporting",
    metadata,
    Column("reporter", Text, nullable=False),
    Column("province", Text, nullable=False),
    Column("year", BigInteger, nullable=False),
    Column("reports", BigInteger, nullable=False),
    Column("late", BigInteger, nullable=False),
    PrimaryKeyConstraint("reporter", "province", "year", name="pk_fact_reporting"),
)
Index("ix_fact_batteries_producer", fact_batteries.c.producer, fact_batteries.c.placed_year)
COHORT_COLUMNS = ("province", "producer", "chemistry", "category", "placed_year", "retired_year")
FIRST_LIFE_PACK = "kind = 'pack' AND original_id IS NULL"
# The leakage report's cohorts (first-life packs by province, producer, chemistry, category,
# placed and retired year): grouped in index order, not sorted row by row.
Index(
    "ix_fact_batteries_cohort",
    *(fact_batteries.c[c] for c in COHORT_COLUMNS),
    sqlite_where=text(FIRST_LIFE_PACK),
    postgresql_where=text(FIRST_LIFE_PACK),
)

FACT_TABLES = (
    fact_batteries,
    fact_recovery,
    fact_recycling_inputs,
    fact_transfers,
    fact_reporting,
)
# Emptied by ``rebuild`` with the other projections; the watermark with them.
FACT_PROJECTIONS = (*FACT_TABLES, fact_state)
