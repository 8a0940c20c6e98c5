"""The fact tables as Ibis tables, on any of four engines.

``sqlite`` and ``postgres`` read the store's own database; ``duckdb`` and ``spark`` read a Parquet
export (:mod:`ionledger.analytics.export`). The reports are Ibis expressions over
:class:`FactTables`, so the same expression runs unchanged on each. Spark (the optional ``spark``
extra) runs in local mode: two cores, small shuffles, no UI, bound to the loopback interface.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
from sqlalchemy.engine import make_url

from ionledger.errors import NotFound, StoreError, ValidationError
from ionledger.store.open import normalise_url

ENGINES = ("sqlite", "postgres", "duckdb", "spark")
# Attribute of FactTables -> table name (in the database, or the Parquet file's stem).
TABLES = {
    "batteries": "fact_batteries",
    "recovery": "fact_recovery",
    "recycling_inputs": "fact_recycling_inputs",
    "transfers": "fact_transfers",
    "reporting": "fact_reporting",
    "surrenders": "epr_surrenders",
}
# epr_surrenders as the contract has it: stands in (empty) where the EPR tables are not there.
SURRENDERS_SCHEMA = ibis.schema(
    {"producer": "string", "year": "int64", "category": "string", "kg": "float64"}
)


@dataclass(frozen=True)
class FactTables:
    batteries: ir.Table
    recovery: ir.Table
    recycling_inputs: ir.Table
    transfers: ir.Table
    reporting: ir.Table
    surrenders: ir.Table
    backend: Any  # ibis.BaseBackend (untyped in ibis)
    engine: str

    def close(self) -> None:
        """Disconnect from the database (a Spark session stays up for the next use)."""
        if self.engine != "spark":
            self.backend.disconnect()

    def __enter__(self) -> FactTables:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_facts(
    engine: str, *, store_url: str | None = None, parquet_dir: Path | None = None
) -> FactTables:
    """The fact tables on ``engine``: from the store at ``store_url`` (sqlite, postgres) or
    from the Parquet files in ``parquet_dir`` (duckdb, spark)."""
    if engine not in ENGINES:
        raise ValidationError(f"unknown engine {engine!r}: use one of {', '.join(ENGINES)}")
    if engine in ("sqlite", "postgres"):
        if store_url is None:
            raise ValidationError(f"the {engine} engine reads a store: give its URL")
        return _from_store(engine, store_url)
    if parquet_dir is None:
        raise ValidationError(f"the {engine} engine reads a Parquet export: give its directory")
    return _from_parquet(engine, Path(parquet_dir))


def store_engine(store_url: str) -> str:
    """The engine that reads a store in place: sqlite or postgres."""
    return (
        "sqlite"
        if make_url(normalise_url(store_url)).drivername.startswith("sqlite")
        else ("postgres")
    )


def _from_store(engine: str, store_url: str) -> FactTables:
    url = make_url(normalise_url(store_url))
    if store_engine(store_url) != engine:
        raise ValidationError(f"{store_url!r} is not a {engine} store")
    try:
        if engine == "sqlite":
            path = url.database or ""
            if not path or path == ":memory:" or not Path(path).exists():
                raise NotFound(f"no SQLite store at {store_url}")
            con = ibis.sqlite.connect(path)
        else:
            options = url.query.get("options")
            extra = {"options": options} if isinstance(options, str) else {}
            con = ibis.postgres.connect(
                host=url.host, port=url.port or 5432, user=url.username,
                password=url.password, database=url.database, **extra,
            )  # fmt: skip
        present = set(con.list_tables())
    except (NotFound, ValidationError):
        raise
    except Exception as exc:  # driver errors, translated at the boundary
        raise StoreError(f"cannot open {store_url!r} on {engine}: {exc}") from exc
    missing = [t for k, t in TABLES.items() if k != "surrenders" and t not in present]
    if missing:
        raise NotFound(
            f"{store_url} has no fact tables ({', '.join(missing)}): "
            "run `ionledger init` on it to bring its schema up to date"
        )
    tables = {k: con.table(t) for k, t in TABLES.items() if t in present}
    if "surrenders" in tables:
        s = tables["surrenders"]
        tables["surrenders"] = s.select(*SURRENDERS_SCHEMA.names)
    else:
        tables["surrenders"] = ibis.memtable(_empty(SURRENDERS_SCHEMA))
    return FactTables(**tables, backend=con, engine=engine)


def _from_parquet(engine: str, directory: Path) -> FactTables:
    files = {k: directory / f"{t}.parquet" for k, t in TABLES.items()}
    missing = [str(p) for k, p in files.items() if k != "surrenders" and not p.exists()]
    if missing:
        raise NotFound(
            f"no Parquet export in {directory} (missing {', '.join(missing)}): "
            "write one with `ionledger export --parquet DIR`"
        )
    con = ibis.duckdb.connect() if engine == "duckdb" else ibis.pyspark.connect(spark_session())
    tables: dict[str, ir.Table] = {}
    for key, path in files.items():
        if path.exists():
            tables[key] = con.read_parquet(str(path), table_name=TABLES[key])
    if "surrenders" not in tables:
        tables["surrenders"] = ibis.memtable(_empty(SURRENDERS_SCHEMA))
    return FactTables(**tables, backend=con, engine=engine)


def _empty(schema: Any) -> Any:
    import pyarrow as pa

    return pa.Table.from_pylist([], schema=schema.to_pyarrow())


@cache
def spark_session() -> Any:
    """One local SparkSession per process (starting one costs seconds)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:  # the optional extra
        raise ValidationError(
            "the spark engine needs PySpark: pip install 'ionledger[spark]'"
        ) from exc
    builder: Any = SparkSession.builder
    session = (
        builder.master("local[2]")
        .appName("ionledger-analytics")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.default.parallelism", "2")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.ansi.enabled", "false")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    return session
