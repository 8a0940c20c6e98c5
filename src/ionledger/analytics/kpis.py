"""The report registry: ``REPORTS[name](facts, params) -> Report`` for leakage, epr, cascade,
recovery, carbon and scorecard. Each report is written once as Ibis expressions over the fact
tables (docs/analytics.md) and runs unchanged on every engine."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ionledger.analytics.kpi_base import Facts, Report, ReportTable
from ionledger.analytics.kpi_carbon import carbon
from ionledger.analytics.kpi_cascade import cascade
from ionledger.analytics.kpi_epr import epr
from ionledger.analytics.kpi_leakage import leakage
from ionledger.analytics.kpi_recovery import recovery
from ionledger.analytics.kpi_scorecard import scorecard
from ionledger.analytics.params import AnalyticsParams
from ionledger.errors import NotFound

ReportFn = Callable[[Facts, AnalyticsParams], Report]

REPORTS: dict[str, ReportFn] = {
    "leakage": leakage,
    "epr": epr,
    "cascade": cascade,
    "recovery": recovery,
    "carbon": carbon,
    "scorecard": scorecard,
}

__all__ = [
    "REPORTS",
    "AnalyticsParams",
    "Facts",
    "Report",
    "ReportFn",
    "ReportTable",
    "facts_of",
    "run",
]


def run(name: str, facts: Facts, params: AnalyticsParams | None = None) -> Report:
    """Run the report ``name`` (one of :data:`REPORTS`)."""
    fn = REPORTS.get(name)
    if fn is None:
        raise NotFound(f"no report {name!r} (have: {', '.join(REPORTS)})")
    return fn(facts, params or AnalyticsParams())


def facts_of(engine: str, *, store_url: str | None, parquet_dir: Path | None = None) -> Facts:
    """The fact tables a report reads: the store's (brought up to date with its events first)
    on sqlite / postgres, a Parquet export's on duckdb / spark."""
    from ionledger.analytics.engines import open_facts

    if engine in ("sqlite", "postgres") and store_url is not None:
        from ionledger.analytics.facts import refresh
        from ionledger.store.open import open_store

        store = open_store(store_url)
        try:
            refresh(store)
        finally:
            store.close()
    return open_facts(engine, store_url=store_url, parquet_dir=parquet_dir)
