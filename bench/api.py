"""The EPCIS REST binding's costs, in one run.

1. CBV 2.0 event hash ID computation rate (generator events, eventIDs ignored by the hash).
2. Capture over HTTP: a real uvicorn server on a fresh SQLite store with its log key; 1,000-event
   documents POSTed to /capture one after another, end to end (pipeline, store, log), each job
   checked for success.
3. Single-event POST /events rate (each one its own transaction, fsync'd, logged).

4. Query latency (first page) for MATCH_epc and one-day time windows on a generated store,
   in the query engine (run_query) and through GET /events in process (routing, negotiation,
   rendering, GS1-EPC-Format conversion; no network).

    python bench/api.py [--events 100000] [--singles 2000] [--query-events 300000]

The import-built store goes through the whole pipeline (generator, capture, projections). For
millions of events that takes hours, so ``--bulk`` instead bulk-inserts synthetic rows straight
into ``events`` and ``event_batteries`` (SQLite, no log, indexes built after the load) and
``--query-only`` measures just the queries, adding the figures to results/api.json under
``query_bulk`` (the other figures are kept). The results say which way the store was built::

    python bench/api.py --query-only --bulk --query-events 10000000
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
from common import RESULTS, WORK, documents, fleet, write_result

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


AUTH: dict[str, str] = {}  # the operator's bearer token for the server _server started


def _server(db: Path, *, init: bool = True) -> tuple[subprocess.Popen[bytes], str]:
    url = f"sqlite:///{db}"
    env = {**os.environ, "IONLEDGER_DATABASE_URL": url}
    ionledger = [sys.executable, "-m", "ionledger"]
    if init:
        subprocess.run([*ionledger, "init"], env=env, check=True, capture_output=True)
    from ionledger.governance.credentials import OPERATOR, issue
    from ionledger.store.open import open_store

    store = open_store(url)
    AUTH["Authorization"] = f"Bearer {issue(store, OPERATOR, ['admin'], label='bench').token}"
    store.close()
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
        with httpx.Client(base_url=base, timeout=600, headers=AUTH) as client:
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


def single_rate(events: list[dict[str, Any]], clients: int = 1) -> dict[str, Any]:
    """POST /events, one event per request, from ``clients`` concurrent clients (each its own
    keep-alive connection); concurrent requests share commits (group commit)."""
    from concurrent.futures import ThreadPoolExecutor

    import httpx2 as httpx

    db = WORK / "api-single.db"
    for p in WORK.glob("api-single.db*"):
        p.unlink()
    proc, base = _server(db)
    size = -(-len(events) // clients)  # each client sends a contiguous run, in capture order
    shares = [events[i : i + size] for i in range(0, len(events), size)]

    def send(share: list[dict[str, Any]]) -> None:
        with httpx.Client(base_url=base, timeout=60, headers=AUTH) as client:
            for event in share:
                posted = client.post(
                    "/events",
                    content=json.dumps(event),
                    headers={"Content-Type": "application/json"},
                )
                assert posted.status_code == 201, posted.text

    try:
        start = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            list(pool.map(send, shares))
        seconds = time.perf_counter() - start
    finally:
        proc.terminate()
        proc.wait()
    return {"events": len(events), "clients": clients, "per_s": len(events) / seconds}


_BULK_STEPS = (
    "commissioning", "installing", "retail_selling", "inspecting", "shipping", "receiving",
    "repairing", "removing", "collecting", "decommissioning",
)  # fmt: skip
_BULK_EVENTS_PER_BATTERY = 10
_BULK_START = 1_672_531_200  # 2023-01-01T00:00:00Z
_BULK_SPAN_DAYS = 1_096  # three years: one day holds about events / 1,096 events


def bulk_store(db: Path, events: int) -> dict[str, Any]:
    """A SQLite store of ``events`` synthetic events, bulk-inserted (not imported).

    Each battery (a valid GB/T 34014 code) has 10 ObjectEvents spread over three years, in time
    order by seq; ``event_batteries`` holds each event's battery, as capture would write it. The
    log and the other projections stay empty: queries read neither. The schema comes from
    ``init_store``; the four event-time indexes are dropped for the load and rebuilt after it.
    """
    import datetime
    import sqlite3

    from ionledger.domain.gbt34014 import make_code
    from ionledger.store.open import init_store

    init_store(f"sqlite:///{db}").close()
    batteries = max(1, events // _BULK_EVENTS_PER_BATTERY)
    day0 = datetime.date(2022, 1, 1)
    codes = [
        make_code("03H", "P", "B", "0C", "1234567", day0 + datetime.timedelta(b // 1_000_000),
                  b % 1_000_000)
        for b in range(batteries)
    ]  # fmt: skip
    step_us = _BULK_SPAN_DAYS * 86_400_000_000 // events
    start = time.perf_counter()
    conn = sqlite3.connect(db, isolation_level=None)
    for pragma in ("journal_mode=OFF", "synchronous=OFF", "locking_mode=EXCLUSIVE",
                   "cache_size=-1048576"):  # fmt: skip
        conn.execute(f"PRAGMA {pragma}")
    indexes = [
        (name, sql)
        for name, sql in conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events'"
            " AND sql IS NOT NULL"
        )
    ]
    for name, _ in indexes:
        conn.execute(f"DROP INDEX {name}")
    epoch = datetime.datetime.fromtimestamp(_BULK_START, datetime.UTC)
    conn.execute("BEGIN")
    chunk = 100_000
    for first in range(0, events, chunk):
        rows = []
        for seq in range(first, min(events, first + chunk)):
            moment = epoch + datetime.timedelta(microseconds=seq * step_us)
            key = moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            when = key[:23] + "Z"
            step = _BULK_STEPS[(seq // batteries) % len(_BULK_STEPS)]
            identity = f"urn:uuid:00000000-0000-4000-8000-{seq:012d}"
            doc = (
                f'{{"type":"ObjectEvent","eventID":"{identity}","eventTime":"{when}",'
                f'"eventTimeZoneOffset":"+00:00","epcList":["urn:ionledger:gbt34014:'
                f'{codes[seq % batteries]}"],"action":"OBSERVE","bizStep":"{step}",'
                f'"disposition":"active","readPoint":{{"id":"urn:epc:id:sgln:6901234.00001.'
                f'{seq % 97}"}},"ion:reportedBy":"91440300MA5FXXXX1X","ion:province":"CN-GD"}}'
            )
            rows.append(
                (seq, identity, None, "ObjectEvent", key, key, "91440300MA5FXXXX1X", step,
                 doc.encode())
            )  # fmt: skip
        conn.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    loaded = time.perf_counter() - start
    for first in range(0, batteries, chunk // _BULK_EVENTS_PER_BATTERY):
        last = min(batteries, first + chunk // _BULK_EVENTS_PER_BATTERY)
        conn.executemany(
            "INSERT INTO event_batteries VALUES (?, ?)",
            [
                (codes[b], seq)
                for b in sorted(range(first, last), key=codes.__getitem__)
                for seq in range(b, events, batteries)
            ],
        )
    conn.execute("COMMIT")
    for _, sql in indexes:
        conn.execute(sql)
    conn.execute("PRAGMA journal_mode=WAL")  # back to what the store runs with
    conn.close()
    return {
        "built": "bulk: synthetic rows inserted straight into events and event_batteries"
        " (SQLite, no log, no other projections), indexes built after the load",
        "events_per_battery": _BULK_EVENTS_PER_BATTERY,
        "days": _BULK_SPAN_DAYS,
        "load_s": loaded,
        "build_s": time.perf_counter() - start,
        "db_bytes": db.stat().st_size,
    }


def _import_store(db: Path, events: int) -> dict[str, Any]:
    from ionledger.services.importer import Importer
    from ionledger.settings import Settings
    from ionledger.store.open import init_store

    store = init_store(f"sqlite:///{db}")
    importer = Importer(store, Settings(database_url=store.url))
    for path in documents(fleet(max(1, events // 23))):
        with open(path, "rb") as fh:
            assert importer.import_stream(fh).ok
    store.close()
    return {"built": "import: generated fleet documents through the capture pipeline"}


def query_latency(
    events: int, samples: int, *, bulk: bool = False, keep: bool = True
) -> dict[str, Any]:
    """p50/p99 of MATCH_epc and one-day eventTime-window queries (first page of 30), on a SQLite
    store of about ``events`` events: in the engine (run_query, in process) and as GET /events
    over HTTP to a real server."""
    import random
    import statistics

    from ionledger.services.query import parse_query, run_query
    from ionledger.store.open import open_store

    name = f"api-query-{'bulk-' if bulk else ''}{events}"
    db = WORK / f"{name}.db"
    done = WORK / f"{name}.complete"
    if not done.exists():
        for p in WORK.glob(f"{name}.db*"):
            p.unlink()
        how = bulk_store(db, events) if bulk else _import_store(db, events)
        done.write_text(json.dumps(how))
    how = json.loads(done.read_text()) if done.read_text() != "ok" else {"built": "import"}
    store = open_store(f"sqlite:///{db}")
    rng = random.Random(7)
    count = store.count_events()
    picks = []
    with store.reading():
        for i in range(samples):
            picks += store.events_between(i * count // samples, i * count // samples + 1)
    batteries = []
    for e in picks:
        doc = json.loads(e.doc)
        found = doc.get("epcList") or doc.get("childEPCs") or [doc.get("parentID")]
        if found and found[0]:
            batteries.append(found[0])
    days = sorted({e.event_time[:10] for e in picks})
    epc_params = [{"MATCH_epc": [b]} for b in batteries]
    window_params = [
        {"GE_eventTime": [f"{d}T00:00:00Z"], "LT_eventTime": [f"{d}T23:59:59Z"]}
        for d in (rng.choice(days) for _ in range(samples))
    ]

    def engine(params: dict[str, list[str]]) -> float:
        start = time.perf_counter()
        page = run_query(store, parse_query(params), per_page=30)
        elapsed = (time.perf_counter() - start) * 1000
        assert page.events, params  # every sample names events that are there
        return elapsed

    def pct(values: list[float]) -> dict[str, float]:
        q = statistics.quantiles(values, n=100)
        return {"p50_ms": statistics.median(values), "p99_ms": q[98]}

    # Other processes share this machine's cores: its load says how quiet the timings were.
    out: dict[str, Any] = {"events": count, "samples": samples, **how}
    out["load_average_1m"] = {"before": os.getloadavg()[0]}
    engine(epc_params[0])  # warm the caches once, as a running server would be
    out["match_epc"] = pct([engine(p) for p in epc_params])
    out["time_window"] = pct([engine(p) for p in window_params])
    store.close()
    import httpx2 as httpx

    proc, base = _server(db, init=False)
    try:
        with httpx.Client(base_url=base, timeout=60, headers=AUTH) as client:

            def http(params: dict[str, list[str]]) -> float:
                start = time.perf_counter()
                response = client.get("/events", params={**params, "perPage": "30"})
                elapsed = (time.perf_counter() - start) * 1000
                assert response.status_code == 200, response.text
                return elapsed

            http(epc_params[0])
            floor = []
            for _ in range(samples):
                start = time.perf_counter()
                client.options("/events")
                floor.append((time.perf_counter() - start) * 1000)
            out["get_events"] = {
                "how": "GET /events over HTTP to `ionledger serve` (uvicorn, localhost,"
                " keep-alive), default GS1-EPC-Format (Always_GS1_Digital_Link)",
                "match_epc": pct([http(p) for p in epc_params]),
                "time_window": pct([http(p) for p in window_params]),
                "http_floor_options": pct(floor),  # OPTIONS /events: the fixed cost of a request
            }
    finally:
        proc.terminate()
        proc.wait()
    out["load_average_1m"]["after"] = os.getloadavg()[0]
    if not keep:
        for p in WORK.glob(f"{name}.*"):
            p.unlink()
    return out


def _summary(out: dict[str, Any]) -> str:
    parts = []
    if "hash_id" in out:
        parts.append(
            f"hash IDs {out['hash_id']['per_s']:,.0f}/s; capture over HTTP (1,000-event"
            f" documents, log included) {out['capture']['per_s']:,.0f} events/s;"
            f" POST /events {out['single']['per_s']:,.0f}/s (1 client),"
            f" {out['single_concurrent']['per_s']:,.0f}/s"
            f" ({out['single_concurrent']['clients']} clients)"
        )
    for q in [out.get("query"), *out.get("query_bulk", {}).values()]:
        if q:
            parts.append(
                f"at {q['events']:,} events ({q.get('built', 'import').split(':')[0]}-built)"
                f" MATCH_epc p50"
                f" {q['match_epc']['p50_ms']:.1f} ms p99 {q['match_epc']['p99_ms']:.1f} ms,"
                f" one-day window p50 {q['time_window']['p50_ms']:.1f} ms p99"
                f" {q['time_window']['p99_ms']:.1f} ms"
            )
    return "api: " + "; ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--singles", type=int, default=2_000)
    parser.add_argument("--clients", type=int, default=8, help="concurrent POST /events clients")
    parser.add_argument("--query-events", type=int, default=300_000)
    parser.add_argument("--samples", type=int, default=500)
    parser.add_argument(
        "--bulk", action="store_true", help="bulk-insert a synthetic store (no import)"
    )
    parser.add_argument(
        "--query-only", action="store_true", help="measure queries only; keep other figures"
    )
    parser.add_argument("--keep-store", action="store_true", help="keep the bulk store on disk")
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    if args.query_only:
        existing = RESULTS / "api.json"
        out = json.loads(existing.read_text()) if existing.exists() else {}
        for key in ("benchmark", "when", "machine", "summary"):
            out.pop(key, None)
        if "query" in out:  # measured before the results said how the store was built
            out["query"].setdefault("built", "import: generated fleet documents through the"
                                    " capture pipeline")  # fmt: skip
    else:
        events = _events(args.events)
        out = {
            "hash_id": hash_rate(events),
            "capture": capture_rate(events, 1_000),
            "single": single_rate(_events(args.events + args.singles)[args.events :]),
        }
        singles = _events(args.events + 2 * args.singles)[args.events + args.singles :]
        out["single_concurrent"] = single_rate(singles, clients=args.clients)
        earlier = RESULTS / "api.json"  # bulk-store query figures are kept until re-measured
        if earlier.exists() and "query_bulk" in (kept := json.loads(earlier.read_text())):
            out["query_bulk"] = kept["query_bulk"]
    keep = args.keep_store or not args.bulk
    query = query_latency(args.query_events, args.samples, bulk=args.bulk, keep=keep)
    if args.bulk:
        out.setdefault("query_bulk", {})[str(args.query_events)] = query
    else:
        out["query"] = query
    write_result("api", out, _summary(out))


if __name__ == "__main__":
    main()
