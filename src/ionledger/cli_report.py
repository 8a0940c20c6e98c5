"""``ionledger report NAME``: the regulators' and producers' reports (docs/analytics.md) on the
store's facts (sqlite, postgres) or a Parquet export (duckdb, spark), printed as tables or JSON
and written as CSV, Parquet or printable HTML."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from ionledger.cli_common import DbOption, console, fail, settings_of
from ionledger.errors import IonLedgerError, ValidationError

SHOWN_ROWS = 40
SHOWN_RECORDS = 12  # rows of a wide table, each printed as name=value pairs
WIDE = 7  # columns beyond which a grid is unreadable in 80 columns
PathOpt = Annotated[Path | None, typer.Option(dir_okay=False, help="Write to this file.")]


def _show(
    report: str, name: str, columns: Sequence[str], rows: Sequence[Mapping[str, Any]]
) -> None:
    """A report table on the terminal: a grid when it fits, else one line of name=value pairs
    per row (a wide grid in 80 columns shows only ellipses); the first rows of long tables."""
    shown = rows[: SHOWN_ROWS if len(columns) <= WIDE else SHOWN_RECORDS]
    more = (
        f"; first {len(shown)} shown, all with --json, --csv or --parquet"
        if len(shown) < len(rows)
        else ""
    )
    title = f"{report}: {name} ({len(rows)} rows{more})"
    if len(columns) <= WIDE:
        table = Table(title=title)
        for c in columns:
            table.add_column(c)
        for row in shown:
            table.add_row(*("" if row.get(c) is None else str(row.get(c)) for c in columns))
        console.print(table)
        return
    console.print(f"[bold]{escape(title)}[/bold]")
    for row in shown:
        pairs = (f"{c}={row[c]}" for c in columns if row.get(c) is not None)
        console.print("  " + escape(", ".join(pairs)), soft_wrap=False)


def _day(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return (dt.date.fromisoformat(text) - dt.date(1970, 1, 1)).days
    except ValueError:
        raise ValidationError(f"--as-of must be a date YYYY-MM-DD, got {text!r}") from None


def report(
    name: Annotated[str, typer.Argument(help="leakage, epr, cascade, recovery, carbon, scorecard")],
    json_: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    csv: PathOpt = None,
    parquet: PathOpt = None,
    html: Annotated[Path | None, typer.Option(dir_okay=False, help="Printable HTML.")] = None,
    explain: Annotated[bool, typer.Option(help="Factors, sources and events of figures.")] = False,
    detail: Annotated[bool, typer.Option(help="Per-battery / per-run tables too.")] = False,
    engine: Annotated[str, typer.Option(help="sqlite, postgres, duckdb or spark.")] = "sqlite",
    parquet_dir: Annotated[
        Path | None, typer.Option(help="Parquet export to read (duckdb, spark).")
    ] = None,
    year: Annotated[int | None, typer.Option(help="Only this year.")] = None,
    province: Annotated[str | None, typer.Option(help="Only this province (CN-XX).")] = None,
    producer: Annotated[str | None, typer.Option(help="Only this producer.")] = None,
    as_of: Annotated[str | None, typer.Option(help="Look from this day (YYYY-MM-DD).")] = None,
    missing_days: Annotated[int, typer.Option(help="Days before a missing case.")] = 30,
    jurisdiction: Annotated[str, typer.Option(help="EPR rule: cn, eu or in.")] = "cn",
    compensation: Annotated[
        float | None, typer.Option(help="EPR compensation per kg of deficit.")
    ] = None,
    grid: Annotated[str, typer.Option(help="Carbon grid factors.")] = "China_GREET2022",
    db: DbOption = None,
) -> None:
    """Leakage, EPR compliance, cascade triage, recovery, carbon or scorecards."""
    from ionledger.analytics import output, report_html
    from ionledger.analytics.kpis import REPORTS, facts_of, run
    from ionledger.analytics.params import AnalyticsParams

    try:
        if name not in REPORTS:
            raise ValidationError(f"no report {name!r} (have: {', '.join(REPORTS)})")
        params = AnalyticsParams(
            year=year, province=province, producer=producer, as_of_day=_day(as_of),
            missing_after_days=missing_days, jurisdiction=jurisdiction,
            compensation_per_kg=compensation, grid=grid, detail=detail, explain=explain,
        )  # fmt: skip
        url = settings_of(db).database_url if engine in ("sqlite", "postgres") else None
        with facts_of(engine, store_url=url, parquet_dir=parquet_dir) as facts:
            result = run(name, facts, params)
        written = []
        if csv is not None:
            written += output.write_csv(result, csv)
        if parquet is not None:
            written += output.write_parquet(result, parquet)
        if html is not None:
            html.write_text(report_html.render(result), encoding="utf-8")
            written.append(html)
    except IonLedgerError as exc:
        raise fail(exc) from exc
    if json_:
        typer.echo(output.to_json(result))
        return
    for t in result.tables:
        _show(name, t.name, t.columns, t.rows)
    for note in result.notes:
        console.print(note)
    if result.explain is not None:
        for entry in result.explain:
            typer.echo(json.dumps(entry, ensure_ascii=False))
    for path in written:
        console.print(f"wrote {path}")
