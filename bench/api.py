"""The EPCIS REST binding's costs, in one run.

1. CBV 2.0 event hash ID computation rate (generator events, eventIDs ignored by the hash).
2. Capture over HTTP: a real uvicorn server on a fresh SQLite store with its log key; 1,000-event
   documents POSTed to /capture one after another, end to end (pipeline, store, log), each job
   checked for success.
3. Single-event POST /events rate (each one its own transaction, fsync'd, logged).

4. Query latency (first page) for MATCH_epc and one-day time windows on a generated store.

    python bench/api.py [--events 100000] [--singles 2000] [--query-events 300000]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import WORK, documents, fleet, write_result

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _events(count: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for path in documents(fleet(max(1, count // 23))):
        out += json.loads(path.read_bytes())["epcisBody"]["eventList"]
        if len(out) >= count:
            break
    return out[:count]


def hash_rate(events: list[dict[str, Any]]) -> dict[str, Any]:
    from ionledger.epcis.hashid import event_hash_id
    from ionledger.sim.epcis_writer import EPCIS_CONTEXT as CONTEXT

    start = time.perf_counter()
    for event in events:
        event_hash_id(event, CONTEXT)
    seconds = time.perf_counter() - start
    return {"events": len(events), "per_s": len(events) / seconds}


def _server(db: Path) -> tuple[subprocess.Popen[bytes], str]:
    url = f"sqlite:///{db}"
    env = {**os.environ, "IONLEDGER_DATABASE_URL": url}
    ionledger = [sys.executable, "-m", "ionledger"]
    subprocess.run([*ionledger, "init"], env=env, check=True, capture_output=True)
    port = _free_port()
    proc = subprocess.Popen(
        [*ionledger, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    import httpx2 as httpx

    for _ in range(200):
        try:
            if httpx.get(f"{base}/health").status_code == 200:
                return proc, base
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the server did not start")


def capture_rate(events: list[dict[str, Any]], per_document: int) -> dict[str, Any]:
    import httpx2 as httpx

    from ionledger.epcis.documents import event_document

    db = WORK / "api-capture.db"
    for p in WORK.glob("api-capture.db*"):
        p.unlink()
    bodies = [
        json.dumps(event_document(events[i : i + per_document])).encode()
        for i in range(0, len(events), per_document)
    ]
    proc, base = _server(db)
    try:
        with httpx.Client(base_url=base, timeout=600) as client:
            start = time.perf_counter()
            for body in bodies:
                posted = client.post(
                    "/capture", content=body, headers={"Content-Type": "application/ld+json"}
                )
                assert posted.status_code == 202, posted.text
                job = client.get(posted.headers["Location"]).json()
                if not job["success"]:
                    raise SystemExit(f"capture job failed: {job['errors'][:3]}")
            seconds = time.perf_counter() - start
            stored = client.get("/health").json()["events"]
    finally:
        proc.terminate()
        proc.wait()
    return {
        "events": len(events),
        "stored": stored,
        "documents": len(bodies),
        "per_document": per_document,
        "per_s": len(events) / seconds,
    }


def single_rate(events: list[dict[str, Any]]) -> dict[str, Any]:
    import httpx2 as httpx

    db = WORK / "api-single.db"
    for p in WORK.glob("api-single.db*"):
        p.unlink()
    proc, base = _server(db)
    try:
        with httpx.Client(base_url=base, timeout=60) as client:
            start = time.perf_counter()
            for event in events:
                posted = client.post(
                    "/events",
                    content=json.dumps(event),
                    headers={"Content-Type": "application/json"},
                )
                assert posted.status_code == 201, posted.text
            seconds = time.perf_counter() - start
    finally:
        proc.terminate()
        proc.wait()
    return {"events": len(events), "per_s": len(events) / seconds}


def query_latency(events: int, samples: int) -> dict[str, Any]:
    """p50/p99 of MATCH_epc and one-day eventTime-window queries (first page of 30), in process
    on a SQLite store of ``events`` generated events."""
    import random
    import statistics

    from ionledger.services.importer import Importer
    from ionledger.services.query import parse_query, run_query
    from ionledger.settings import Settings
    from ionledger.store.open import init_store, open_store

    db = WORK / f"api-query-{events}.db"
    if not (WORK / f"api-query-{events}.complete").exists():
        for p in WORK.glob(f"api-query-{events}.db*"):
            p.unlink()
        store = init_store(f"sqlite:///{db}")
        importer = Importer(store, Settings(database_url=store.url))
        for path in documents(fleet(max(1, events // 23))):
            with open(path, "rb") as fh:
                assert importer.import_stream(fh).ok
        store.close()
        (WORK / f"api-query-{events}.complete").write_text("ok")
    store = open_store(f"sqlite:///{db}")
    rng = random.Random(7)
    with store.reading():
        ids = [e.identity for e in store.events_between(0, 1)]
        count = store.count_events()
        picks = store.events_between(0, count)[:: max(1, count // samples)][:samples]
    batteries = []
    for e in picks:
        doc = json.loads(e.doc)
        found = doc.get("epcList") or doc.get("childEPCs") or [doc.get("parentID")]
        if found and found[0]:
            batteries.append(found[0])
    days = sorted({e.event_time[:10] for e in picks})

    def timed(params: dict[str, list[str]]) -> float:
        start = time.perf_counter()
        run_query(store, parse_query(params), per_page=30)
        return (time.perf_counter() - start) * 1000

    epc = [timed({"MATCH_epc": [b]}) for b in batteries]
    window = [
        timed({"GE_eventTime": [f"{d}T00:00:00Z"], "LT_eventTime": [f"{d}T23:59:59Z"]})
        for d in (rng.choice(days) for _ in range(samples))
    ]
    store.close()
    assert ids

    def pct(values: list[float]) -> dict[str, float]:
        q = statistics.quantiles(values, n=100)
        return {"p50_ms": statistics.median(values), "p99_ms": q[98]}

    return {"events": count, "match_epc": pct(epc), "time_window": pct(window)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--singles", type=int, default=2_000)
    parser.add_argument("--query-events", type=int, default=300_000)
    parser.add_argument("--samples", type=int, default=500)
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    events = _events(args.events)
    out = {
        "hash_id": hash_rate(events),
        "capture": capture_rate(events, 1_000),
        "single": single_rate(_events(args.events + args.singles)[args.events :]),
        "query": query_latency(args.query_events, args.samples),
    }
    summary = (
        f"api: hash IDs {out['hash_id']['per_s']:,.0f}/s; capture over HTTP (1,000-event"
        f" documents, log included) {out['capture']['per_s']:,.0f} events/s;"
        f" POST /events {out['single']['per_s']:,.0f}/s; at {out['query']['events']:,} events"
        f" MATCH_epc p50 {out['query']['match_epc']['p50_ms']:.1f} ms"
        f" p99 {out['query']['match_epc']['p99_ms']:.1f} ms, one-day window p50"
        f" {out['query']['time_window']['p50_ms']:.1f} ms p99"
        f" {out['query']['time_window']['p99_ms']:.1f} ms"
    )
    write_result("api", out, summary)


if __name__ == "__main__":
    main()
