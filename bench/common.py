"""Shared bench plumbing: cached fleets, subprocess workers, JSON results, one-line summaries."""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
WORK = Path(os.environ.get("IONLEDGER_BENCH_DIR", "/tmp/ionledger-bench"))
PG_URL = os.environ.get("IONLEDGER_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


def peak_rss_mb() -> float:
    """Peak resident set size of this process, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def fleet(packs: int, seed: int = 7, *, events_per_document: int = 50_000) -> Path:
    """Generate (once, cached on disk) a fleet of ``packs`` packs; returns its directory."""
    from ionledger.sim.generator import generate

    out = WORK / f"fleet-{packs}-{seed}-{events_per_document}-clean"
    done = out / ".complete"
    if not done.exists():
        # No planted violations: these fleets measure rates, and the rules reject the impossible
        # ones (tests/test_detection.py is where planted fleets are used).
        generate(
            batteries=packs,
            seed=seed,
            out=out,
            events_per_document=events_per_document,
            anomaly_rate=0.0,
        )
        done.write_text("ok")
    return out


def documents(directory: Path) -> list[Path]:
    return sorted(directory.glob("events-*.jsonld"))


def import_files(importer: Any, files: list[str]) -> dict[str, Any]:
    """Import documents with ``importer``, failing on any refused one; events, seconds, RSS."""
    stored = 0
    start = time.perf_counter()
    for path in files:
        with open(path, "rb") as fh:
            report = importer.import_stream(fh, source=path)
        if not report.ok:
            raise SystemExit(f"import failed: {path}: {report.document_error} {report.errors[:3]}")
        stored += report.stored
    seconds = time.perf_counter() - start
    return {"events": stored, "seconds": seconds, "peak_rss_mb": peak_rss_mb()}


def run_worker(script: str, *args: str) -> dict[str, Any]:
    """Run ``bench/<script> --worker ...`` in a fresh process; it prints one JSON line."""
    cmd = [sys.executable, str(ROOT / "bench" / script), "--worker", *args]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def pg_schema_url(schema: str) -> str:
    import psycopg

    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        conn.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}options=-csearch_path%3D{schema}"


def drop_pg_schema(schema: str) -> None:
    import psycopg

    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def write_result(name: str, result: dict[str, Any], summary: str) -> None:
    """Write bench/results/<name>.json and print the one-line summary."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    result = {
        "benchmark": name,
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        **result,
        "summary": summary,
    }
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(summary)
