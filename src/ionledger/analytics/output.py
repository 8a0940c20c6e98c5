"""Writing a :class:`~ionledger.analytics.kpi_base.Report` as JSON, CSV or Parquet.

A report has one or more tables. JSON holds them all; CSV and Parquet hold one table per file:
the main table at the path given, each further table beside it as ``<stem>.<table><suffix>``.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from ionledger.analytics.kpi_base import Report, ReportTable
from ionledger.errors import ValidationError


def to_json(report: Report) -> str:
    return json.dumps(report.to_dict(), ensure_ascii=False, indent=2, sort_keys=False)


def to_csv(table: ReportTable) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(table.columns), lineterminator="\n")
    w.writeheader()
    for row in table.rows:
        w.writerow({c: "" if row.get(c) is None else row.get(c) for c in table.columns})
    return buf.getvalue()


def _paths(report: Report, path: Path) -> list[tuple[ReportTable, Path]]:
    out = [(report.tables[0], path)]
    for t in report.tables[1:]:
        out.append((t, path.with_name(f"{path.stem}.{t.name}{path.suffix}")))
    return out


def write_csv(report: Report, path: Path) -> list[Path]:
    """Write every table; return the paths written (the main table first)."""
    written = []
    for table, p in _paths(report, path):
        p.write_text(to_csv(table), encoding="utf-8")
        written.append(p)
    return written


def _arrow(table: ReportTable) -> Any:
    import pyarrow as pa

    columns = {c: [row.get(c) for row in table.rows] for c in table.columns}
    try:
        return pa.table(columns)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise ValidationError(f"table {table.name}: cannot write as Parquet: {exc}") from None


def write_parquet(report: Report, path: Path) -> list[Path]:
    import pyarrow.parquet as pq

    written = []
    for table, p in _paths(report, path):
        pq.write_table(_arrow(table), p)
        written.append(p)
    return written
