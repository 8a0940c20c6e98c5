"""Bulk import rate into SQLite and PostgreSQL, against the bare driver's insert rate (the floor).

For each backend: import generator output through the real pipeline (decode, check, identify,
project, store) in a fresh process, recording events/s and peak RSS; then insert exactly the rows
that import wrote (every table, same schema and indexes, same durability settings) through the
bare driver - sqlite3 executemany / psycopg binary COPY - and time only the inserts. The ratio
pipeline rate / floor rate is the figure that survives a noisy machine.

    python bench/import_rate.py [--events 1000000]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (
    WORK,
    documents,
    drop_pg_schema,
    fleet,
    import_files,
    peak_rss_mb,
    pg_schema_url,
    run_worker,
    write_result,
)

TABLES = ("events", "event_batteries", "batteries", "genealogy", "test_results", "log_tiles")
BATCH = 5_000


def worker_import(url: str, files: list[str]) -> dict[str, Any]:
    from ionledger.services.importer import Importer
    from ionledger.settings import Settings
    from ionledger.store.open import init_store

    store = init_store(url)
    result = import_files(Importer(store, Settings(database_url=url)), files)
    store.close()
    return result


def worker_floor_sqlite(src: str, dst: str) -> dict[str, Any]:
    from ionledger.store.open import init_store
    from ionledger.store.sqlite import PRAGMAS

    init_store(f"sqlite:///{dst}").close()  # the same schema and indexes
    source = sqlite3.connect(src)
    target = sqlite3.connect(dst, isolation_level=None)
    for pragma in PRAGMAS:
        target.execute(pragma)
    spent = 0.0
    rows_total = 0
    per_table: dict[str, float] = {}
    for table in TABLES:
        before = spent
        cur = source.execute(f"SELECT * FROM {table}")
        width = len(cur.description)
        sql = f"INSERT INTO {table} VALUES ({', '.join('?' * width)})"
        while rows := cur.fetchmany(BATCH):
            t0 = time.perf_counter()
            target.execute("BEGIN IMMEDIATE")
            target.executemany(sql, rows)
            target.execute("COMMIT")
            spent += time.perf_counter() - t0
            rows_total += len(rows)
        per_table[table] = spent - before
    return _floor_result(spent, rows_total, per_table)


def worker_floor_pg(src_url: str, dst_url: str) -> dict[str, Any]:
    import psycopg

    from ionledger.store.open import init_store

    init_store(dst_url).close()
    spent = 0.0
    rows_total = 0
    per_table: dict[str, float] = {}
    with psycopg.connect(src_url) as source, psycopg.connect(dst_url) as target:
        for table in TABLES:
            before = spent
            cur = source.cursor(name=f"read_{table}")
            cur.execute(f"SELECT * FROM {table}")
            while rows := cur.fetchmany(BATCH):
                columns = cur.description or []
                names = ", ".join(d.name for d in columns)
                t0 = time.perf_counter()
                copy = f"COPY {table} ({names}) FROM STDIN (FORMAT BINARY)"
                with target.cursor().copy(copy) as cp:  # binary, as the adapter writes
                    cp.set_types([d.type_code for d in columns])
                    for row in rows:
                        cp.write_row(row)
                target.commit()
                spent += time.perf_counter() - t0
                rows_total += len(rows)
            cur.close()
            source.commit()
            per_table[table] = spent - before
    return _floor_result(spent, rows_total, per_table)


def _floor_result(spent: float, rows: int, per_table: dict[str, float]) -> dict[str, Any]:
    return {
        "seconds": spent,
        "rows": rows,
        "seconds_by_table": per_table,
        "peak_rss_mb": peak_rss_mb(),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--worker", nargs="+")
    parser.add_argument("--skip-pg", action="store_true")
    args = parser.parse_args()
    if args.worker:
        mode, *rest = args.worker
        result = {
            "import": lambda: worker_import(rest[0], rest[1:]),
            "floor-sqlite": lambda: worker_floor_sqlite(rest[0], rest[1]),
            "floor-pg": lambda: worker_floor_pg(rest[0], rest[1]),
        }[mode]()
        print(json.dumps(result))
        return

    probe = fleet(200)
    per_pack = sum(1 for _ in _events(probe)) / 200
    packs = max(1, round(args.events / per_pack))
    files = [str(p) for p in documents(fleet(packs))]
    out: dict[str, Any] = {"target_events": args.events, "packs": packs, "files": len(files)}

    db = WORK / "import-bench.db"
    floor_db = WORK / "import-floor.db"
    for p in WORK.glob("import-*.db*"):
        p.unlink()
    sq = run_worker("import_rate.py", "import", f"sqlite:///{db}", *files)
    sq_floor = run_worker("import_rate.py", "floor-sqlite", str(db), str(floor_db))
    out["sqlite"] = _backend(sq, sq_floor)
    summary = "import: " + _line("sqlite", out["sqlite"])
    if not args.skip_pg:
        src, dst = pg_schema_url("bench_import"), pg_schema_url("bench_floor")
        pg = run_worker("import_rate.py", "import", src, *files)
        pg_floor = run_worker("import_rate.py", "floor-pg", src, dst)
        out["postgresql"] = _backend(pg, pg_floor)
        drop_pg_schema("bench_import")
        drop_pg_schema("bench_floor")
        summary += "; " + _line("postgresql", out["postgresql"])
    summary += f" - {out['sqlite']['events']:,} events"
    rows = out["sqlite"]["floor"]["rows"] / out["sqlite"]["events"]
    summary += f", {rows:.1f} rows written per event"
    write_result("import_rate", out, summary)


def _backend(run: dict[str, Any], floor: dict[str, Any]) -> dict[str, Any]:
    """One backend's figures: pipeline rate, floor rate for the same rows, and their ratio."""
    rate = run["events"] / run["seconds"]
    floor_rate = run["events"] / floor["seconds"]
    # For scale: the bare driver inserting the event rows alone (one row per event, no index rows).
    events_only = run["events"] / floor["seconds_by_table"]["events"]
    return {
        **run,
        "rate": rate,
        "ratio": rate / floor_rate,
        "floor": {**floor, "rate": floor_rate, "events_table_only_rate": events_only},
    }


def _line(name: str, r: dict[str, Any]) -> str:
    return (
        f"{name} {r['rate']:,.0f} ev/s (floor {r['floor']['rate']:,.0f}, ratio "
        f"{r['ratio']:.2f}, rss {r['peak_rss_mb']:.0f} MB)"
    )


def _events(directory: Path) -> Any:
    from ionledger.epcis.stream import iter_events

    for path in documents(directory):
        with path.open("rb") as fh:
            yield from iter_events(fh)


if __name__ == "__main__":
    main()
