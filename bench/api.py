"""The EPCIS REST binding's costs, in one run.

1. CBV 2.0 event hash ID computation rate (generator events, eventIDs ignored by the hash).
2. Capture over HTTP: a real uvicorn server on a fresh SQLite store with its log key; 1,000-event
   documents POSTed to /capture one after another, end to end (pipeline, store, log), each job
   checked for success.
3. Single-event POST /events rate (each one its own transaction, fsync'd, logged).

    python bench/api.py [--events 100000] [--singles 2000]
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--singles", type=int, default=2_000)
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    events = _events(args.events)
    out = {
        "hash_id": hash_rate(events),
        "capture": capture_rate(events, 1_000),
        "single": single_rate(_events(args.events + args.singles)[args.events :]),
    }
    summary = (
        f"api: hash IDs {out['hash_id']['per_s']:,.0f}/s; capture over HTTP (1,000-event"
        f" documents, log included) {out['capture']['per_s']:,.0f} events/s;"
        f" POST /events {out['single']['per_s']:,.0f}/s"
    )
    write_result("api", out, summary)


if __name__ == "__main__":
    main()
