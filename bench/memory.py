"""Peak memory of importing one ~1 GB EPCIS document (goal: peak RSS <= 500 MB).

The document is generator output written as a single EPCISDocument; the import runs in a fresh
process whose peak RSS is read from getrusage.

    python bench/memory.py [--mb 1024]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import WORK, documents, fleet, run_worker, write_result
from import_rate import worker_import


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=1024)
    parser.add_argument("--worker", nargs="+")
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker_import(args.worker[1], args.worker[2:])))
        return
    probe = documents(fleet(200))
    bytes_per_pack = sum(p.stat().st_size for p in probe) / 200
    packs = max(1, round(args.mb * 1024 * 1024 / bytes_per_pack))
    doc = documents(fleet(packs, events_per_document=10**9))
    assert len(doc) == 1, doc
    size_mb = doc[0].stat().st_size / 1024 / 1024
    db = WORK / "memory-bench.db"
    for p in WORK.glob("memory-bench.db*"):
        p.unlink()
    result = run_worker("memory.py", "import", f"sqlite:///{db}", str(doc[0]))
    out = {"document_mb": size_mb, **result, "goal_mb": 500}
    write_result(
        "memory",
        out,
        f"memory: imported a {size_mb:,.0f} MB document "
        f"({result['events']:,} events) with peak RSS {result['peak_rss_mb']:.0f} MB "
        f"(goal <= 500 MB)",
    )


if __name__ == "__main__":
    main()
