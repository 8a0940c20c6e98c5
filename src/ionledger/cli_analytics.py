"""``ionledger export``: the analytics fact tables as Parquet (for DuckDB, Spark ...)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ionledger.cli_common import DbOption, console, fail, settings_of
from ionledger.errors import IonLedgerError


def export(
    parquet: Annotated[
        Path, typer.Option("--parquet", help="Directory to write <table>.parquet files into.")
    ],
    db: DbOption = None,
) -> None:
    """Refresh the fact tables and write each as Parquet (docs/analytics.md)."""
    from ionledger.analytics.export import export_parquet
    from ionledger.store.open import open_store

    try:
        store = open_store(settings_of(db).database_url)
        try:
            counts = export_parquet(store, parquet)
        finally:
            store.close()
    except IonLedgerError as exc:
        raise fail(exc) from exc
    for table, rows in counts.items():
        console.print(f"{parquet / (table + '.parquet')}: {rows} rows")
