"""What every report shares: its result type, the fact tables it reads, and fetching a result
the same way on every engine.

Engines differ in how they order NULLs, in the last bits of a floating-point sum and in the
Python types their drivers return (PostgreSQL sums integers as NUMERIC). So a report fetches
through :func:`fetch`, which turns each value into int / float / str / None by the expression's
schema, rounds floats to fixed decimals and sorts rows in Python by the report's key columns.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any, Protocol

import ibis
import ibis.expr.types as ir

Row = dict[str, Any]
EPOCH = dt.date(1970, 1, 1)
DECIMALS = 6


class Facts(Protocol):
    """The fact tables (docs/analytics.md), as :class:`ionledger.analytics.engines.FactTables`
    provides them on any engine."""

    @property
    def batteries(self) -> ir.Table: ...
    @property
    def recovery(self) -> ir.Table: ...
    @property
    def recycling_inputs(self) -> ir.Table: ...
    @property
    def transfers(self) -> ir.Table: ...
    @property
    def reporting(self) -> ir.Table: ...
    @property
    def surrenders(self) -> ir.Table: ...


@dataclass(frozen=True, slots=True)
class ReportTable:
    name: str
    columns: tuple[str, ...]
    rows: list[Row]


@dataclass(frozen=True, slots=True)
class Report:
    """A report: its tables (the first is the main one), the parameters it ran with, and, when
    asked for, the explanation of its figures (factors with their sources, events used)."""

    name: str
    tables: tuple[ReportTable, ...]
    params: dict[str, Any]
    explain: list[Row] | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def columns(self) -> tuple[str, ...]:
        return self.tables[0].columns

    @property
    def rows(self) -> list[Row]:
        return self.tables[0].rows

    def table(self, name: str) -> ReportTable:
        for t in self.tables:
            if t.name == name:
                return t
        from ionledger.errors import NotFound

        names = ", ".join(t.name for t in self.tables)
        raise NotFound(f"report {self.name!r} has no table {name!r} (it has: {names})")

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "report": self.name,
            "params": self.params,
            "tables": {t.name: {"columns": list(t.columns), "rows": t.rows} for t in self.tables},
        }
        if self.notes:
            body["notes"] = list(self.notes)
        if self.explain is not None:
            body["explain"] = self.explain
        return body


def _value(v: Any, kind: str, decimals: int) -> Any:
    if v is None:
        return None
    if kind == "int":
        return int(v)
    if kind == "float":
        f = float(v)
        if math.isnan(f):
            return None
        r = round(f, decimals)
        return 0.0 if r == 0 else r  # no -0.0
    return str(v)


def _column(values: list[Any], kind: str, decimals: int) -> list[Any]:
    """:func:`_value` over a column, inlined: large results have millions of values."""
    if kind == "int":
        return [None if v is None else int(v) for v in values]
    if kind == "float":  # NaN -> None; `or 0.0` turns -0.0 into 0.0
        return [None if v is None or v != v else (round(float(v), decimals) or 0.0) for v in values]
    return [None if v is None else str(v) for v in values]


def _kind(dtype: Any) -> str:
    if dtype.is_integer() or dtype.is_boolean():
        return "int"
    if dtype.is_floating() or dtype.is_decimal():
        return "float"
    return "str"


def sort_key(keys: tuple[str, ...]) -> Any:
    # NULLs last, whatever the engine does.
    return lambda r: tuple((r[k] is None, r[k] if r[k] is not None else 0) for k in keys)


def fetch(expr: ir.Table, keys: tuple[str, ...], *, decimals: int = DECIMALS) -> list[Row]:
    """Execute ``expr`` and return its rows as plain, rounded values sorted by ``keys``."""
    schema = expr.schema()
    names = list(schema.names)
    kinds = [_kind(dtype) for dtype in schema.values()]
    raw = raw_rows(expr)
    # No rows: no columns (so not strict).
    by_column = zip(zip(*raw, strict=True), kinds, strict=False)
    columns = [_column(list(c), k, decimals) for c, k in by_column]
    rows = [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]
    rows.sort(key=sort_key(keys))
    return rows


def raw_rows(expr: ir.Table) -> list[tuple[Any, ...]]:
    """The rows of ``expr`` as tuples of driver values (untyped, unrounded, unsorted)."""
    raw = _sqlite_rows(expr)
    if raw is None:
        raw = [tuple(row.values()) for row in expr.to_pyarrow().to_pylist()]
    return raw


def _sqlite_rows(expr: ir.Table) -> list[tuple[Any, ...]] | None:
    """On SQLite, the rows as the driver returns them. Ibis builds a pandas DataFrame and then
    an Arrow table from them, which costs more than the query on large results; the values are
    typed by the schema in :func:`fetch` either way. None on any other engine."""
    try:
        backend: Any = expr._find_backend(use_default=False)
    except Exception:  # no backend of its own (memtables only): not SQLite
        return None
    if backend.name != "sqlite":
        return None
    backend._run_pre_execute_hooks(expr)  # registers the memtables it joins
    cursor = backend.con.execute(backend.compile(expr))
    try:
        rows: list[tuple[Any, ...]] = cursor.fetchall()
    finally:
        cursor.close()
    return rows


def rounded(x: float | None, decimals: int = DECIMALS) -> float | None:
    v: float | None = _value(x, "float", decimals)
    return v


def ratio(num: float | None, den: float | None, decimals: int = DECIMALS) -> float | None:
    """num / den, None when there is nothing to divide by."""
    if num is None or not den:
        return None
    return rounded(num / den, decimals)


def day_of(year: int, month: int = 1, day: int = 1) -> int:
    return (dt.date(year, month, day) - EPOCH).days


def year_of(day: ir.IntegerValue, years: range = range(2000, 2061)) -> ir.IntegerValue:
    """The calendar year of a day number, as a CASE over year boundaries: integer comparisons
    only, so that every engine agrees (no date functions). Days before ``years`` read as the
    year before it, days after as the year after."""
    # A balanced tree of comparisons (about 6 per row), not a CASE of 62 tried in turn.
    bounds = [day_of(y) for y in years] + [day_of(years[-1] + 1)]
    labels = [years[0] - 1, *years, years[-1] + 1]  # labels[i]: bounds[i - 1] <= day < bounds[i]

    def tree(lo: int, hi: int) -> ir.IntegerValue:  # the label of a day in labels[lo:hi + 1]
        if lo == hi:
            return ibis.literal(labels[lo])
        mid = (lo + hi) // 2
        out: ir.IntegerValue = ibis.ifelse(day < bounds[mid], tree(lo, mid), tree(mid + 1, hi))
        return out

    return tree(0, len(labels) - 1).cast("int64")
