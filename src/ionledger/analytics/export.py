"""The fact tables as Parquet files, one per table, for DuckDB, Spark or anyone else.

Each file has an explicit Arrow schema taken from the table's definition (int64, float64,
string), so every reader sees the same types whatever the database returned. The facts are
refreshed first. ``epr_surrenders`` is exported too where the store has it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import BigInteger, Float, Integer, Table, inspect

from ionledger.analytics.facts import refresh
from ionledger.analytics.facts_store import sql_store
from ionledger.errors import StoreError, ValidationError
from ionledger.store.port import EventStore
from ionledger.store.schema import metadata
from ionledger.store.schema_facts import FACT_TABLES
from ionledger.store.sql import translating

SURRENDERS = "epr_surrenders"
SURRENDER_COLUMNS = {"producer": "string", "year": "int64", "category": "string", "kg": "float64"}
BATCH_ROWS = 100_000


def arrow_schema(table: Table) -> pa.Schema:
    def arrow_type(column: Any) -> pa.DataType:
        if isinstance(column.type, BigInteger | Integer):
            return pa.int64()
        if isinstance(column.type, Float):
            return pa.float64()
        return pa.string()

    return pa.schema([pa.field(c.name, arrow_type(c), nullable=c.nullable) for c in table.columns])


def _surrender_schema() -> pa.Schema:
    return pa.schema([pa.field(n, pa.type_for_alias(t)) for n, t in SURRENDER_COLUMNS.items()])


def export_parquet(store: EventStore, directory: Path) -> dict[str, int]:
    """Refresh the facts, then write ``<table>.parquet`` for each; returns rows per table."""
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise ValidationError(f"{directory} exists and is not a directory")
    sql = sql_store(store)
    refresh(store)
    directory.mkdir(parents=True, exist_ok=True)
    jobs: list[tuple[str, pa.Schema, list[str]]] = [
        (t.name, arrow_schema(t), [c.name for c in t.columns]) for t in FACT_TABLES
    ]
    with translating("reading the store's tables"):
        if SURRENDERS in inspect(sql.engine).get_table_names():
            jobs.append((SURRENDERS, _surrender_schema(), list(SURRENDER_COLUMNS)))
    counts: dict[str, int] = {}
    with translating("exporting the fact tables"), sql.engine.connect() as conn:
        for name, schema, columns in jobs:
            table = metadata.tables.get(name)
            key = [c.name for c in table.primary_key.columns] if table is not None else []
            order = ", ".join(key or columns)
            result = conn.exec_driver_sql(
                f"SELECT {', '.join(columns)} FROM {name} ORDER BY {order}"
            )
            counts[name] = _write(result, schema, directory / f"{name}.parquet")
    return counts


def _write(result: Any, schema: pa.Schema, path: Path) -> int:
    """Stream a result into a Parquet file (written beside, then moved into place)."""
    partial = path.with_suffix(".parquet.partial")
    rows = 0
    try:
        with pq.ParquetWriter(partial, schema) as writer:
            while batch := result.fetchmany(BATCH_ROWS):
                columns = list(zip(*batch, strict=True))
                arrays = [
                    pa.array(_cast(col, field.type), type=field.type)
                    for col, field in zip(columns, schema, strict=True)
                ]
                writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
                rows += len(batch)
        partial.replace(path)
    except (OSError, pa.ArrowException) as exc:
        partial.unlink(missing_ok=True)
        raise StoreError(f"cannot write {path}: {exc}") from exc
    return rows


def _cast(values: tuple[Any, ...], kind: pa.DataType) -> list[Any]:
    # PostgreSQL may hand back Decimal for sums and SQLite ints in REAL columns: fix the type.
    if pa.types.is_floating(kind):
        return [None if v is None else float(v) for v in values]
    if pa.types.is_integer(kind):
        return [None if v is None else int(v) for v in values]
    return [None if v is None else str(v) for v in values]
