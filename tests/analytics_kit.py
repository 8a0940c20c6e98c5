"""Hand-made fact tables for the report tests: rows with defaults, loaded into an in-memory
DuckDB or SQLite Ibis connection with the schema of ionledger.store.schema_facts."""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir
from sqlalchemy import Table

import ionledger.store.schema  # noqa: F401  (loads the EPR tables without an import cycle)
from ionledger.analytics.engines import FactTables
from ionledger.analytics.kpi_base import day_of
from ionledger.store.schema_epr import epr_surrenders
from ionledger.store.schema_facts import (
    fact_batteries,
    fact_recovery,
    fact_recycling_inputs,
    fact_reporting,
    fact_transfers,
)

Facts = FactTables  # what the reports read, here over hand-made rows


def _dtype(col: Any) -> str:
    name = type(col.type).__name__
    dtype = {"BigInteger": "int64", "Integer": "int64", "Float": "float64"}.get(name, "string")
    return dtype if col.nullable else f"!{dtype}"  # NOT NULL as the stored tables have it


def schema_of(table: Table) -> dict[str, str]:
    return {c.name: _dtype(c) for c in table.columns}


def battery(battery_id: str, **kw: Any) -> dict[str, Any]:
    """A first-life pack with defaults (LFP, EV, 60 kWh, 400 kg, VM1, CN-GD, placed 2020)."""
    row: dict[str, Any] = {c.name: None for c in fact_batteries.columns}
    placed = kw.pop("placed_year", 2020)
    row.update(
        battery_id=battery_id, kind="pack", chemistry="LFP", category="EV", energy_kwh=60.0,
        mass_kg=400.0, producer="VM1", province="CN-GD", placed_year=placed,
        placed_day=day_of(placed, 7, 1), negative_events=0,
    )  # fmt: skip
    if "retired_year" in kw and "retired_day" not in kw:
        kw["retired_day"] = day_of(kw["retired_year"], 3, 1)
    row.update(kw)
    return row


def _table(con: Any, name: str, rows: list[dict[str, Any]], table: Table) -> ir.Table:
    schema = ibis.schema(schema_of(table))
    data = {c: [r.get(c) for r in rows] for c in schema.names}
    table = ibis.memtable(data, schema=schema)
    if con.name == "duckdb":  # memtables run on DuckDB (ibis's default backend) as they are
        return table
    con.create_table(name, table)
    return con.table(name)


def make_facts(engine: str = "duckdb", **tables: list[dict[str, Any]]) -> Facts:
    con = ibis.duckdb.connect() if engine == "duckdb" else ibis.sqlite.connect()
    specs = {
        "batteries": fact_batteries,
        "recovery": fact_recovery,
        "recycling_inputs": fact_recycling_inputs,
        "transfers": fact_transfers,
        "reporting": fact_reporting,
        "surrenders": epr_surrenders,
    }
    built = {k: _table(con, f"t_{k}", tables.get(k, []), t) for k, t in specs.items()}
    return Facts(**built, backend=con, engine=engine)
