"""One Ibis expression, four engines, the same rows: SQLite and PostgreSQL read the store's fact
tables, DuckDB and Spark (local mode) the Parquet export of the same facts."""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ibis
import pyarrow.parquet as pq
import pytest
from sqlalchemy import insert, select

from generator_kit import Run
from ionledger.analytics.engines import ENGINES, FactTables, open_facts
from ionledger.analytics.export import export_parquet
from ionledger.analytics.facts import refresh
from ionledger.errors import NotFound, ValidationError
from ionledger.governance.credentials import OPERATOR
from ionledger.services.importer import Importer
from ionledger.services.registry import change_registry, changes_from_generator
from ionledger.settings import Settings
from ionledger.store.open import init_store
from ionledger.store.port import EventStore
from ionledger.store.schema_facts import FACT_PROJECTIONS

# py4j (Spark's Python-Java bridge) leaves its client sockets to the garbage collector.
pytestmark = [
    pytest.mark.filterwarnings("ignore:unclosed <socket.socket:ResourceWarning"),
    pytest.mark.filterwarnings(
        "ignore:Exception ignored in. <socket.socket:pytest.PytestUnraisableExceptionWarning"
    ),
]


def _need_spark() -> None:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        if os.environ.get("IONLEDGER_REQUIRE_SPARK") == "1":
            pytest.fail("PySpark is not installed (IONLEDGER_REQUIRE_SPARK=1)")
        pytest.skip("PySpark not installed (the spark extra)")


@pytest.fixture(scope="module", autouse=True)
def _stop_spark() -> Iterator[None]:
    """One Spark session for the module (started on first use), stopped after it."""
    yield
    from ionledger.analytics.engines import spark_session

    if spark_session.cache_info().currsize:
        spark_session().stop()
        spark_session.cache_clear()


@pytest.fixture(scope="module")
def sqlite_store(clean: Run, tmp_path_factory: pytest.TempPathFactory) -> Iterator[EventStore]:
    store = init_store(f"sqlite:///{tmp_path_factory.mktemp('engines') / 'store.db'}")
    change_registry(store, changes_from_generator(clean.registry), actor=OPERATOR)
    importer = Importer(store, Settings(database_url=store.url))
    for path in clean.result.documents:
        with path.open("rb") as fh:
            assert importer.import_stream(fh, proceed=True).ok
    refresh(store)
    yield store
    store.close()


@pytest.fixture(scope="module")
def parquet_dir(sqlite_store: EventStore, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("parquet")
    counts = export_parquet(sqlite_store, out)
    assert counts["fact_batteries"] > 0
    return out


@pytest.fixture
def pg_store_url(sqlite_store: EventStore, pg_url: str) -> Iterator[str]:
    """A PostgreSQL store holding the same fact rows (copied: derivation is tested elsewhere)."""
    store = init_store(pg_url)
    try:
        source, target = sqlite_store.engine, store.engine  # type: ignore[attr-defined]
        with source.connect() as src, target.begin() as dst:
            for table in FACT_PROJECTIONS:
                rows = [dict(r._mapping) for r in src.execute(select(table))]
                if rows:
                    dst.execute(insert(table), rows)
        yield pg_url
    finally:
        store.close()


def _by_province_and_year(f: FactTables) -> Any:
    b = f.batteries.filter(f.batteries.kind == "pack")
    return b.group_by(["province", "placed_year"]).agg(
        packs=b.count(),
        kwh=b.energy_kwh.sum(),
        retired=b.retired_day.count(),
        # PostgreSQL averages integers as NUMERIC: cast first, as the reports must.
        collected=(b.collected_day - b.retired_day).cast("float64").mean(),
        soh=b.soh_pct.max(),
    )


def _recovery_by_element(f: FactTables) -> Any:
    r = f.recovery
    return r.group_by(["year", "element"]).agg(
        contained=r.contained_kg.sum(), recovered=r.recovered_kg.sum(), transformations=r.count()
    )


def _transfer_days(f: FactTables) -> Any:
    t = f.transfers
    days = (t.receive_day - t.ship_day).name("days")
    return t.group_by(cross=ibis.ifelse(t.from_province == t.to_province, 0, 1)).agg(
        shipments=t.count(), open=t.receive_day.isnull().sum(), days=days.sum()
    )


EXPRESSIONS = (_by_province_and_year, _recovery_by_element, _transfer_days)


def _rows(expr: Any) -> list[tuple[Any, ...]]:
    """Rows with floats rounded (engines differ in the last bits of a sum), sorted."""

    def value(v: Any) -> Any:
        if isinstance(v, float):
            return None if math.isnan(v) else round(v, 6)
        return v

    table = expr.to_pyarrow()
    rows = [tuple(value(v) for v in row.values()) for row in table.to_pylist()]
    return sorted(rows, key=repr)


def _results(f: FactTables) -> list[list[tuple[Any, ...]]]:
    with f:
        return [_rows(make(f)) for make in EXPRESSIONS]


@pytest.fixture(scope="module")
def expected(sqlite_store: EventStore) -> list[list[tuple[Any, ...]]]:
    results = _results(open_facts("sqlite", store_url=sqlite_store.url))
    assert all(results), "every expression has rows"
    return results


def test_duckdb_reads_the_export_as_sqlite_reads_the_store(
    expected: list[list[tuple[Any, ...]]], parquet_dir: Path
) -> None:
    assert _results(open_facts("duckdb", parquet_dir=parquet_dir)) == expected


@pytest.mark.pg
def test_postgresql_gives_the_same_rows(
    expected: list[list[tuple[Any, ...]]], pg_store_url: str
) -> None:
    assert _results(open_facts("postgres", store_url=pg_store_url)) == expected


@pytest.mark.spark
def test_spark_gives_the_same_rows(
    expected: list[list[tuple[Any, ...]]], parquet_dir: Path
) -> None:
    _need_spark()
    assert _results(open_facts("spark", parquet_dir=parquet_dir)) == expected


def test_export_has_explicit_types(parquet_dir: Path) -> None:
    schema = pq.read_schema(parquet_dir / "fact_batteries.parquet")
    assert str(schema.field("placed_day").type) == "int64"
    assert str(schema.field("energy_kwh").type) == "double"
    assert str(schema.field("province").type) == "string"


def test_bad_requests_are_refused(tmp_path: Path, sqlite_store: EventStore) -> None:
    with pytest.raises(ValidationError, match="unknown engine"):
        open_facts("oracle", store_url=sqlite_store.url)
    with pytest.raises(ValidationError, match="reads a Parquet export"):
        open_facts("duckdb")
    with pytest.raises(ValidationError, match="not a postgres store"):
        open_facts("postgres", store_url=sqlite_store.url)
    with pytest.raises(NotFound, match="no Parquet export"):
        open_facts("duckdb", parquet_dir=tmp_path)
    with pytest.raises(NotFound, match="no SQLite store"):
        open_facts("sqlite", store_url=f"sqlite:///{tmp_path / 'absent.db'}")
    assert not (tmp_path / "absent.db").exists()


@pytest.mark.pg
@pytest.mark.spark
def test_every_report_is_the_same_on_every_engine(
    sqlite_store: EventStore, pg_store_url: str, parquet_dir: Path
) -> None:
    kpis = pytest.importorskip("ionledger.analytics.kpis")
    _need_spark()
    sources: dict[str, dict[str, Any]] = {
        "sqlite": {"store_url": sqlite_store.url},
        "postgres": {"store_url": pg_store_url},
        "duckdb": {"parquet_dir": parquet_dir},
        "spark": {"parquet_dir": parquet_dir},
    }
    assert set(sources) == set(ENGINES)
    results: dict[str, dict[str, Any]] = {}
    for engine, src in sources.items():
        with open_facts(engine, **src) as facts:
            results[engine] = {name: kpis.run(name, facts).to_dict() for name in kpis.REPORTS}
    for name in kpis.REPORTS:
        assert results["sqlite"][name]["tables"], name
        for engine in ENGINES[1:]:
            assert results[engine][name] == results["sqlite"][name], (engine, name)
