"""Analytics benchmark: the full KPI set on 1 M packs, on SQLite, PostgreSQL, DuckDB over Parquet
and Spark local mode, side by side in one run; and the facts refresh rate on a generated fleet.

The 1 M packs' fact rows are synthesised directly with NumPy (the generator's distributions:
cohorts by NEV sales, chemistry and pack size mixes, Weibull lifetimes, a formal share):
generating and importing ~20 M events with the capture rules runs at a few thousand events per
second on this 2-core machine (hours), and the KPIs read only the fact tables. The refresh rate
is measured separately on a fleet generated and imported the ordinary way.

    python bench/analytics.py [--packs 1000000] [--fleet 2000] [--engines sqlite,postgres,...]
"""

from __future__ import annotations

import argparse
import datetime
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from common import WORK, drop_pg_schema, fleet, pg_schema_url, write_result
from ionledger.sim import params as p
from ionledger.sim.fleet import MARKET, PROVINCE_CODES

GOAL_SQLITE_S = 10.0
END = datetime.date(2030, 12, 31)
EPOCH = datetime.date(1970, 1, 1)
CHUNK = 100_000


def _day(d: datetime.date) -> int:
    return (d - EPOCH).days


def _year(days: np.ndarray) -> np.ndarray:
    return (days.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970).astype(
        np.int64
    )


def synthesise(n: int, seed: int = 7) -> dict[str, list[tuple[Any, ...]]]:
    """Fact rows of ``n`` packs (one row each; recycling inputs are the packs themselves)."""
    from ionledger.governance.composition import composition

    rng = np.random.default_rng(seed)
    years = np.arange(2016, 2027)
    sales = np.array([p.nev_sales(int(y)) for y in years], dtype=float)
    year = rng.choice(years, n, p=sales / sales.sum())
    produced = np.array([_day(datetime.date(int(y), 1, 1)) for y in year]) + rng.integers(0, 360, n)
    placed = produced + rng.integers(10, 120, n)
    chem = np.where(rng.random(n) < 0.6, 0, rng.integers(1, len(p.CHEMISTRIES), n))
    kwh = np.asarray(p.PACK_KWH)[rng.choice(len(p.PACK_KWH), n, p=p.PACK_KWH_WEIGHTS)]
    mass = np.round(kwh * np.asarray(p.PACK_KG_PER_KWH)[chem] * rng.uniform(1.0, 1.1, n), 1)
    prov = rng.choice(len(MARKET), n, p=MARKET)
    producer = rng.zipf(1.6, n) % 40
    end = _day(END)
    life = np.asarray(p.WEIBULL_SCALE_YEARS)[chem] * rng.weibull(p.WEIBULL_SHAPE, n)
    retired = placed + (life * 365.25).astype(np.int64)
    is_retired = retired <= end
    formal = is_retired & (rng.random(n) < 0.6)
    silent = is_retired & ~formal & (rng.random(n) < 0.5)
    collected = retired + rng.integers(1, 20, n)
    listed = collected + rng.integers(10, 40, n)
    reached = formal & (listed <= end)
    second = reached & (rng.random(n) < 0.25)
    repurposed = listed + rng.integers(10, 60, n)
    recycled = listed + rng.integers(10, 90, n)
    is_recycled = reached & ~second & (recycled <= end)
    soh = np.round(np.clip(rng.normal(75, 8, n), 40, 98), 1)
    neg = rng.poisson(0.05, n)
    chems = [str(c) for c in p.CHEMISTRIES]
    ids = [f"P{i:023d}" for i in range(n)]
    mk = [f"VM{v:04d}" for v in producer.tolist()]
    prov_s = [PROVINCE_CODES[i] for i in prov.tolist()]

    def opt(mask: np.ndarray, values: np.ndarray) -> list[Any]:
        return [v if m else None for m, v in zip(mask.tolist(), values.tolist(), strict=True)]

    def party(mask: np.ndarray, prefix: str, k: int) -> list[Any]:
        who = (np.arange(n) * 7919 + k) % 300
        return [f"{prefix}{w:04d}" if m else None for m, w in zip(mask, who.tolist(), strict=True)]

    ret_mask = is_retired & ~silent
    cols = {
        "battery_id": ids, "kind": ["pack"] * n, "chemistry": [chems[c] for c in chem.tolist()],
        "category": ["EV"] * n, "energy_kwh": kwh.tolist(), "mass_kg": mass.tolist(),
        "battery_maker": [f"BM{c % 10:04d}" for c in producer.tolist()], "producer": mk,
        "province": prov_s, "produced_day": produced.tolist(), "placed_day": placed.tolist(),
        "placed_year": _year(placed).tolist(), "placed_via": ["sale"] * n,
        "retired_day": opt(ret_mask, retired), "retired_year": opt(ret_mask, _year(retired)),
        "retired_by": party(ret_mask, "DS", 1), "retired_province": opt(ret_mask, prov),
        "collected_day": opt(formal, collected), "collected_by": party(formal, "CO", 2),
        "collected_whitelisted": opt(formal, np.zeros(n, dtype=np.int64)),
        "whitelisted_day": opt(reached, listed), "whitelisted_by": party(reached, "WL", 3),
        "repurposed_day": opt(second, repurposed), "repurposed_by": party(second, "WL", 3),
        "recycled_day": opt(is_recycled, recycled), "recycled_by": party(is_recycled, "WL", 3),
        "soh_pct": opt(reached, soh), "capacity_ah": opt(reached, kwh * 3 * soh / 100),
        "resistance_ohm": opt(reached, np.round(rng.uniform(0.08, 0.2, n), 4)),
        "test_day": opt(reached, listed + 5), "test_seq": opt(reached, np.arange(n)),
        "negative_events": neg.tolist(), "original_id": [None] * n,
        "vehicle": [f"V{i:016d}" for i in range(n)],
    }  # fmt: skip
    cols["retired_province"] = [
        None if v is None else PROVINCE_CODES[v] for v in cols["retired_province"]
    ]
    batteries = list(zip(*cols.values(), strict=True))
    table = composition().kg_per_kwh
    recovery, inputs = [], []
    for i in np.flatnonzero(is_recycled).tolist():
        seq, day, yr = 10_000_000 + i, int(recycled[i]), int(_year(recycled[i : i + 1])[0])
        who = cols["recycled_by"][i]
        for element, per in table[chems[chem[i]]].items():
            if per > 0:
                contained = per * float(kwh[i])
                got = round(contained * float(rng.uniform(0.85, 0.99)), 3)
                row = (
                    seq,
                    who,
                    prov_s[i],
                    yr,
                    day,
                    "hydro",
                    float(mass[i]),
                    element,
                    contained,
                    got,
                )
                recovery.append(row)
        inputs.append(
            (seq, ids[i], ids[i], mk[i], chems[chem[i]], float(mass[i]), float(kwh[i]), yr)
        )
    transfers = [
        (ids[i], 2 * i, f"BM{i % 10:04d}", mk[i], prov_s[i], prov_s[(i * 31) % n],
         int(produced[i]) + 3, int(produced[i]) + 6)
        for i in range(n)
    ]  # fmt: skip
    reporting: dict[tuple[str, str, int], list[int]] = {}
    for who, pv, yr, r in zip(mk, prov_s, cols["placed_year"], neg.tolist(), strict=True):
        c = reporting.setdefault((who, pv, yr), [0, 0])
        c[0] += 20
        c[1] += int(r > 0)
    return {
        "fact_batteries": batteries,
        "fact_recovery": recovery,
        "fact_recycling_inputs": inputs,
        "fact_transfers": transfers,
        "fact_reporting": [(*k, a, b) for k, (a, b) in sorted(reporting.items())],
    }


def _chunks(rows: list[tuple[Any, ...]]) -> Iterator[list[tuple[Any, ...]]]:
    for i in range(0, len(rows), CHUNK):
        yield rows[i : i + CHUNK]


def load(url: str, tables: dict[str, list[tuple[Any, ...]]]) -> float:
    """Insert the rows into a fresh store at ``url``; seconds taken."""
    from ionledger.analytics.facts import analyze
    from ionledger.store.open import init_store
    from ionledger.store.schema_facts import FACT_TABLES

    store = init_store(url)
    start = time.perf_counter()
    by_name = {t.name: t for t in FACT_TABLES}
    raw = store.engine.raw_connection()  # type: ignore[attr-defined]
    conn: Any = raw.driver_connection
    sqlite = url.startswith("sqlite")
    if sqlite:
        conn.execute("BEGIN")
    for name, rows in tables.items():
        cols = [c.name for c in by_name[name].columns]
        if sqlite:
            sql = f"INSERT INTO {name} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
            for part in _chunks(rows):
                conn.executemany(sql, part)
        else:
            with conn.cursor().copy(f"COPY {name} ({', '.join(cols)}) FROM STDIN") as cp:
                for row in rows:
                    cp.write_row(row)
    conn.execute("COMMIT") if sqlite else conn.commit()
    raw.close()
    analyze(store)  # as a refresh that wrote this many rows does (analytics/facts.py)
    store.close()
    return time.perf_counter() - start


def run_reports(engine: str, **source: Any) -> dict[str, Any]:
    from ionledger.analytics import kpis
    from ionledger.analytics.engines import open_facts

    out: dict[str, Any] = {"reports": {}}
    start = time.perf_counter()
    with open_facts(engine, **source) as facts:
        opened = time.perf_counter()
        for name in kpis.REPORTS:
            t = time.perf_counter()
            try:
                kpis.run(name, facts)
                out["reports"][name] = round(time.perf_counter() - t, 3)
            except Exception as exc:  # a report that fails on one engine: recorded, not fatal
                out["reports"][name] = f"error: {type(exc).__name__}: {str(exc)[:160]}"
    done = time.perf_counter()
    out.update(open_s=round(opened - start, 3), seconds=round(done - opened, 3))
    return out


def refresh_rate(packs: int) -> dict[str, Any]:
    """Import a generated fleet (registry first), then time one full refresh of its facts."""
    import json

    from ionledger.analytics.facts import refresh
    from ionledger.governance.credentials import OPERATOR
    from ionledger.services.importer import Importer
    from ionledger.services.registry import change_registry, changes_from_generator
    from ionledger.settings import Settings
    from ionledger.store.open import init_store

    out = fleet(packs)
    path = WORK / f"analytics-fleet-{packs}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    store = init_store(f"sqlite:///{path}")
    registry = json.loads((out / "registry.json").read_text())
    change_registry(store, changes_from_generator(registry), actor=OPERATOR)
    importer = Importer(store, Settings(database_url=store.url))
    for doc in sorted(out.glob("events-*.jsonld")):
        with doc.open("rb") as fh:
            importer.import_stream(fh, proceed=True)
    report = refresh(store)
    again = refresh(store)
    store.close()
    return {
        "packs": packs,
        "events": report.events,
        "battery_rows": report.batteries,
        "seconds": round(report.seconds, 2),
        "events_per_s": round(report.rate),
        "up_to_date_refresh_ms": round(again.seconds * 1000, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--packs", type=int, default=1_000_000)
    parser.add_argument("--fleet", type=int, default=2_000)
    parser.add_argument("--engines", default="sqlite,postgres,duckdb,spark")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    engines = args.engines.split(",")
    WORK.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    tables = synthesise(args.packs)
    synth_s = time.perf_counter() - t
    db = WORK / f"analytics-{args.packs}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    loads = {"sqlite": round(load(f"sqlite:///{db}", tables), 1)}
    schema = "bench_analytics"
    pg_url = pg_schema_url(schema) if "postgres" in engines else None
    if pg_url is not None:
        loads["postgres"] = round(load(pg_url, tables), 1)
    from ionledger.analytics.export import export_parquet
    from ionledger.store.open import open_store

    parquet = WORK / f"analytics-{args.packs}-parquet"
    store = open_store(f"sqlite:///{db}")
    t = time.perf_counter()
    export_parquet(store, parquet)
    loads["parquet_export"] = round(time.perf_counter() - t, 1)
    store.close()
    del tables
    sources: dict[str, dict[str, Any]] = {
        "sqlite": {"store_url": f"sqlite:///{db}"},
        "postgres": {"store_url": pg_url},
        "duckdb": {"parquet_dir": parquet},
        "spark": {"parquet_dir": parquet},
    }
    runs = {e: run_reports(e, **sources[e]) for e in engines}
    if pg_url is not None:
        drop_pg_schema(schema)
    rate = refresh_rate(args.fleet)
    result = {
        "command": f"python bench/analytics.py --packs {args.packs} --fleet {args.fleet}",
        "packs": args.packs,
        "facts": "synthesised with NumPy (see the module docstring)",
        "synthesise_s": round(synth_s, 1),
        "load_s": loads,
        "kpi_runs": runs,
        "goal_sqlite_s": GOAL_SQLITE_S,
        "refresh": rate,
    }
    side = ", ".join(f"{e} {r['seconds']:.1f} s" for e, r in runs.items())
    failed = sum(isinstance(v, str) for r in runs.values() for v in r["reports"].values())
    summary = (
        f"analytics: full KPI set on {args.packs:,} packs: {side}"
        f" (goal sqlite <= {GOAL_SQLITE_S:.0f} s; {failed} report runs failed);"
        f" facts refresh {rate['events_per_s']:,} events/s on a {args.fleet:,}-pack fleet"
    )
    write_result("analytics", result, summary)


if __name__ == "__main__":
    main()
