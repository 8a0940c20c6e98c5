"""Splitter throughput: stream a synthetic EPCIS document of ~1 KB events through iter_events.

The document is written to a temporary file in batches (it never exists whole in memory), then
split several times; the best pass counts, since the machine is shared. A last pass also decodes
every event with msgspec, to show the headroom left for the rest of the import pipeline.

    python bench/stream.py [--mb 256] [--chunk-size 1048576] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import WORK, peak_rss_mb, write_result
from ionledger.epcis.stream import iter_events

HEADER = {
    "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
    "type": "EPCISDocument",
    "schemaVersion": "2.0",
    "creationDate": "2024-05-01T00:00:00Z",
}


def event(i: int, rnd: random.Random) -> dict[str, Any]:
    """A battery-pack ObjectEvent of about 1 KB, with nesting, unicode and escaped characters."""
    return {
        "type": "ObjectEvent",
        "eventTime": f"2024-05-01T12:{i % 60:02d}:{i * 7 % 60:02d}.000Z",
        "eventTimeZoneOffset": "+08:00",
        "eventID": f"ni:///sha-256;{rnd.getrandbits(256):064x}?ver=CBV2.0",
        "epcList": [f"urn:epc:id:sgtin:0614141.107346.{i * 4 + k}" for k in range(4)],
        "action": "OBSERVE",
        "bizStep": "inspecting",
        "disposition": "in_progress",
        "readPoint": {"id": "urn:epc:id:sgln:0614141.07346.1234"},
        "bizLocation": {"id": "urn:epc:id:sgln:0614141.00888.0"},
        "bizTransactionList": [
            {"type": "po", "bizTransaction": f"urn:epcglobal:cbv:bt:{i:013d}:1"}
        ],
        "sensorElementList": [
            {
                "sensorMetadata": {"time": "2024-05-01T12:00:00Z", "deviceID": "urn:epc:id:giai:1"},
                "sensorReport": [
                    {"type": "Temperature", "value": 20 + i % 17, "uom": "CEL"},
                    {"type": "Voltage", "value": 3.6 + (i % 9) / 100, "uom": "VLT"},
                    {"type": "ElectricCharge", "value": 97.5, "uom": "AMH"},
                ],
            }
        ],
        "ionledger:note": 'cell "B7" \\ rack 3 — 電池 ✓' if i % 5 == 0 else "nominal",
    }


def write_document(path: Path, mb: int) -> int:
    """Write an EPCISDocument of at least ``mb`` MB; returns its event count."""
    rnd = random.Random(7)
    batch = ", ".join(json.dumps(event(i, rnd), ensure_ascii=False) for i in range(1000)).encode()
    head = json.dumps(HEADER)[:-1].encode() + b', "epcisBody": {"eventList": ['
    batches = max(1, -(-mb * 1_000_000 // len(batch)))
    with path.open("wb") as f:
        f.write(head)
        for k in range(batches):
            f.write(b", " * (k > 0) + batch)
        f.write(b"]}}\n")
    return batches * 1000


def split(path: Path, chunk_size: int, *, decode: bool) -> tuple[float, int]:
    start = time.perf_counter()
    with path.open("rb") as f:
        stream = iter_events(f, chunk_size=chunk_size)
        if decode:
            for raw in stream:
                msgspec.json.decode(raw)
        else:
            for _ in stream:
                pass
    return time.perf_counter() - start, stream.events_read


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=256)
    parser.add_argument("--chunk-size", type=int, default=1 << 20)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=WORK) as tmp:
        path = Path(tmp) / "stream.jsonld"
        expected = write_document(path, args.mb)
        size = path.stat().st_size
        times = []
        for _ in range(args.runs):
            seconds, count = split(path, args.chunk_size, decode=False)
            if count != expected:
                raise SystemExit(f"split {count} events, expected {expected}")
            times.append(seconds)
        decode_seconds, _ = split(path, args.chunk_size, decode=True)
    best = min(times)
    mb_s, events_s, rss = size / best / 1e6, expected / best, peak_rss_mb()
    result = {
        "document_mb": round(size / 1e6, 1),
        "events": expected,
        "bytes_per_event": round(size / expected),
        "chunk_size": args.chunk_size,
        "seconds": [round(t, 3) for t in times],
        "mb_per_s": round(mb_s, 1),
        "events_per_s": round(events_s),
        "split_and_decode_events_per_s": round(expected / decode_seconds),
        "peak_rss_mb": round(rss, 1),
    }
    summary = f"stream: {mb_s:.0f} MB/s, {events_s:,.0f} events/s, peak RSS {rss:.0f} MB"
    write_result("stream", result, summary)


if __name__ == "__main__":
    main()
