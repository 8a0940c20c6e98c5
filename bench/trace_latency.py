"""``trace`` latency, in process, with ~10 M stored events (goals: p50 <= 2 ms, p99 <= 10 ms).

The store is filled through the real import pipeline from generator output (cached between
runs), then random packs, modules and cells are traced.

    python bench/trace_latency.py [--events 10000000] [--samples 2000]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import WORK, documents, fleet, write_result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1, help="which random batteries to trace")
    args = parser.parse_args()

    from sqlalchemy import text

    from ionledger.services.importer import Importer
    from ionledger.services.trace import trace
    from ionledger.settings import Settings
    from ionledger.store.open import init_store

    probe = fleet(200)
    per_pack = sum(1 for _ in _count(probe)) / 200
    packs = max(1, round(args.events / per_pack))
    db = WORK / f"trace-bench-{packs}.db"
    ready = WORK / f"trace-bench-{packs}.ready"
    url = f"sqlite:///{db}"
    if not ready.exists():
        for p in WORK.glob(f"trace-bench-{packs}.db*"):
            p.unlink()
        store = init_store(url)
        importer = Importer(store, Settings(database_url=url))
        for path in documents(fleet(packs)):
            with path.open("rb") as fh:
                report = importer.import_stream(fh, source=str(path))
            if not report.ok:
                raise SystemExit(f"import failed: {path}: {report.errors[:3]}")
        store.close()
        ready.write_text("ok")
    store = init_store(url)
    stored = store.count_events()
    rng = random.Random(args.seed)
    with store.engine.connect() as conn:  # type: ignore[attr-defined]
        # Uniformly random batteries (packs, modules, cells) by rowid, without loading tens of
        # millions of IDs into memory.
        top = int(conn.execute(text("SELECT MAX(rowid) FROM batteries")).scalar_one())
        count = int(conn.execute(text("SELECT COUNT(*) FROM batteries")).scalar_one())
        sample: list[str] = []
        while len(sample) < args.samples:
            row = conn.execute(
                text("SELECT id FROM batteries WHERE rowid = :r"), {"r": rng.randint(1, top)}
            ).first()
            if row is not None:
                sample.append(row[0])
    for bid in sample[:50]:  # warm the page cache and the connection pool
        trace(store, bid)
    timings = []
    for bid in sample:
        t0 = time.perf_counter()
        trace(store, bid)
        timings.append((time.perf_counter() - t0) * 1000)
    timings.sort()
    p50 = timings[len(timings) // 2]
    p99 = timings[int(len(timings) * 0.99)]
    store.close()
    write_result(
        "trace_latency",
        {
            "stored_events": stored,
            "batteries": count,
            "samples": len(timings),
            "p50_ms": p50,
            "p99_ms": p99,
            "max_ms": timings[-1],
            "goals_ms": {"p50": 2, "p99": 10},
        },
        f"trace: p50 {p50:.2f} ms, p99 {p99:.2f} ms over {len(timings)} traces with "
        f"{stored:,} events stored (goals 2 / 10 ms)",
    )


def _count(directory: Path):  # type: ignore[no-untyped-def]
    from ionledger.epcis.stream import iter_events

    for path in documents(directory):
        with path.open("rb") as fh:
            yield from iter_events(fh)


if __name__ == "__main__":
    main()
