"""The report registry: ``REPORTS[name](facts, params) -> Report`` for leakage, epr, cascade,
recovery, carbon and scorecard. Each report is written once as Ibis expressions over the fact
tables (docs/analytics.md) and runs unchanged on every engine."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ionledger.analytics.kpi_base import Facts, Report, ReportTable
from ionledger.analytics.kpi_carbon import carbon
from ionledger.analytics.kpi_cascade import cascade
from ionledger.analytics.kpi_epr import epr
from ionledger.analytics.kpi_leakage import leakage
from ionledger.analytics.kpi_recovery import recovery
from ionledger.analytics.kpi_scorecard import scorecard
from ionledger.analytics.params import AnalyticsParams
from ionledger.errors import NotFound

if TYPE_CHECKING:
    from ionledger.analytics.engines import FactTables
from ionledger.store.port import EventStore

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


def facts_of(
    engine: str,
    *,
    store_url: str | None = None,
    parquet_dir: Path | None = None,
    store: EventStore | None = None,
) -> FactTables:
    """The fact tables a report reads (close them after): the store's, brought up to date with
    its events first, on sqlite / postgres (``store``: one already open, else ``store_url``);
    a Parquet export's on duckdb / spark."""
    from ionledger.analytics.engines import open_facts
    from ionledger.analytics.facts import refresh

    if store is not None:
        refresh(store)
        store_url = store.url
    elif engine in ("sqlite", "postgres") and store_url is not None:
        from ionledger.store.open import open_store

        opened = open_store(store_url)
        try:
            refresh(opened)
        finally:
            opened.close()
    return open_facts(engine, store_url=store_url, parquet_dir=parquet_dir)
