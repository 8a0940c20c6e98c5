"""Small relational helpers the reports share: first-life packs, joins on keys that may be NULL,
the as-of day."""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import ibis.expr.types as ir

from ionledger.analytics.kpi_base import Facts, Row
from ionledger.analytics.params import AnalyticsParams

NONE = ""  # NULL keys read as "" inside a report (SQL joins never match NULL), None outside


def packs(facts: Facts, params: AnalyticsParams) -> ir.Table:
    """First-life traction packs (not repurposed products), with NULL province and producer
    keyed as "" and the report's province / producer filters applied."""
    t = first_life(facts.batteries)
    t = t.mutate(
        province=t.province.fill_null(NONE),
        producer=t.producer.fill_null(NONE),
        chemistry=t.chemistry.fill_null(NONE),
        category=t.category.fill_null(NONE),
    )
    if params.province is not None:
        t = t.filter(t.province == params.province)
    if params.producer is not None:
        t = t.filter(t.producer == params.producer)
    return t


def first_life(b: ir.Table) -> ir.Table:
    """First-life packs of fact_batteries, columns as stored: the rows the partial index
    ix_fact_batteries_cohort holds, so that SQLite can group them in index order."""
    return b.filter((b.kind == "pack") & b.original_id.isnull())


def report_filters(t: ir.Table, params: AnalyticsParams) -> ir.Table:
    """The report's province / producer filters on stored columns (NULL reads as NONE)."""
    if params.province is not None:
        t = t.filter(t.province.fill_null(NONE) == params.province)
    if params.producer is not None:
        t = t.filter(t.producer.fill_null(NONE) == params.producer)
    return t


def left(keys: ir.Table, other: ir.Table, on: Sequence[str], fill: float | None = 0) -> ir.Table:
    """``keys`` with ``other``'s non-key columns joined on ``on`` (missing: ``fill``)."""
    joined = keys.left_join(other, list(on))
    cols = [keys[c] for c in keys.columns]
    for c in other.columns:
        if c in on:
            continue
        col = joined[c] if c in joined.columns else other[c]
        cols.append((col.fill_null(fill) if fill is not None else col).name(c))
    return joined.select(*cols)


def nullable(t: ir.Table, cols: Sequence[str]) -> ir.Table:
    """``cols`` of ``t`` typed as nullable: a union needs equal schemas, and a NOT NULL column of
    a stored table is a different type to Ibis than a computed one."""
    return t.select(*[t[c].cast(t[c].type().copy(nullable=True)).name(c) for c in cols])


def key_union(tables: Sequence[ir.Table], on: Sequence[str]) -> ir.Table:
    """Every distinct key of ``on`` in any of ``tables``."""
    parts = [nullable(t, on) for t in tables]
    out = parts[0]
    for p in parts[1:]:
        out = out.union(p)
    return out.distinct()


def as_of_day(facts: Facts, params: AnalyticsParams) -> int:
    """The day the reports look from: given, else the latest day any battery fact records."""
    if params.as_of_day is not None:
        return params.as_of_day
    b = facts.batteries
    days = [b.produced_day, b.placed_day, b.retired_day, b.collected_day, b.repurposed_day]
    days += [b.recycled_day, b.test_day]
    expr = b.aggregate(**{f"d{i}": d.max() for i, d in enumerate(days)})
    row = expr.to_pyarrow().to_pylist()[0]
    found = [int(v) for v in row.values() if v is not None]
    return max(found) if found else 0


def unkey(rows: list[Row], *cols: str) -> list[Row]:
    """The "" keys back to None."""
    for r in rows:
        for c in cols:
            if r.get(c) == NONE:
                r[c] = None
    return rows


def lit_table(rows: list[Row], schema: dict[str, str]) -> ir.Table:
    """A small literal table (factor lookups) every engine can join with."""
    return ibis.memtable({c: [r[c] for r in rows] for c in schema}, schema=ibis.schema(schema))
