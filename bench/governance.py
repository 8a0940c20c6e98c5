"""What the governance rules cost on capture, and whether their state look-ups slow down as the
store grows.

One process, one generated fleet (no planted violations) with its registry loaded, so every
rule applies (party rules need a non-empty registry):

1. cost: the first documents are imported into two fresh stores, one with the rules on and one
   with them off, alternating which goes first per document, so both see the same machine
   noise; cost = 1 - rate(on) / rate(off).
2. growth: the rules-on store then takes the rest of the fleet; the rate of each document is
   recorded against the store's size when it began. Rules read per-battery state by key
   (indexed look-ups), so the rate near the end should match the rate near the start.

    python bench/governance.py [--events 1000000] [--cost-events 200000]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import WORK, documents, fleet, peak_rss_mb, run_worker, write_result

PER_PACK_PROBE = 200  # packs generated to learn events per pack


def _store(url: str, registry: Path) -> Any:
    import msgspec

    from ionledger.services.registry import change_registry, changes_from_generator
    from ionledger.store.open import init_store

    store = init_store(url)
    doc = msgspec.json.decode(registry.read_bytes())
    change_registry(store, changes_from_generator(doc), actor="bench")
    return store


def _import(importer: Any, path: str) -> tuple[int, float]:
    start = time.perf_counter()
    with open(path, "rb") as fh:
        report = importer.import_stream(fh, source=path)
    seconds = time.perf_counter() - start
    if not report.ok:
        raise SystemExit(f"import failed: {path}: {report.document_error} {report.errors[:3]}")
    return report.stored, seconds


def _time_screening(importer: Any) -> list[float]:
    """Accumulate the seconds the rules spend judging (Governor.screen: state look-ups and
    verdicts) into the returned one-element list, so that their own cost can be followed as the
    store grows, apart from the storage engine's."""
    governor = importer.governor
    screen = governor.screen
    total = [0.0]

    def timed(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return screen(*args, **kwargs)
        finally:
            total[0] += time.perf_counter() - start

    governor.screen = timed
    return total


def worker(directory: str, cost_events: int) -> dict[str, Any]:
    from ionledger.services.importer import Importer
    from ionledger.settings import Settings

    files = [str(p) for p in documents(Path(directory))]
    registry = Path(directory) / "registry.json"
    for p in WORK.glob("governance-*.db*"):
        p.unlink()
    importers = {}
    for rules in (True, False):
        name = "on" if rules else "off"
        url = f"sqlite:///{WORK / f'governance-{name}.db'}"
        store = _store(url, registry)
        importers[rules] = Importer(store, Settings(database_url=url, rules=rules))
    screening = _time_screening(importers[True])
    spent = {True: 0.0, False: 0.0}  # over the paired documents only
    stored = {True: 0, False: 0}
    growth: list[dict[str, float]] = []
    for n, path in enumerate(files):
        size = importers[True].store.count_events()
        paired = stored[False] < cost_events
        order = (True, False) if n % 2 == 0 else (False, True)
        for rules in order if paired else (True,):
            events, seconds = _import(importers[rules], path)
            if paired:
                spent[rules] += seconds
                stored[rules] += events
            if rules:
                rules_s, screening[0] = screening[0], 0.0
                growth.append(
                    {"stored_before": size, "events": events, "per_s": events / seconds,
                     "rules_us_per_event": rules_s / events * 1e6}
                )  # fmt: skip
    on_rate, off_rate = stored[True] / spent[True], stored[False] / spent[False]
    return {
        "cost": {
            "events_each": stored[False],
            "rules_on_per_s": on_rate,
            "rules_off_per_s": off_rate,
            "cost": 1 - on_rate / off_rate,
        },
        "growth": growth,
        "final_events": importers[True].store.count_events(),
        "peak_rss_mb": peak_rss_mb(),
    }


def _window(growth: list[dict[str, float]], lo: int, hi: int) -> dict[str, float]:
    """The rate over documents that began with lo <= stored < hi."""
    chosen = [g for g in growth if lo <= g["stored_before"] < hi]
    events = sum(g["events"] for g in chosen)
    seconds = sum(g["events"] / g["per_s"] for g in chosen)
    rules = sum(g["rules_us_per_event"] * g["events"] for g in chosen)
    return {
        "from": lo,
        "to": hi,
        "events": events,
        "per_s": events / seconds if seconds else 0,
        "rules_us_per_event": rules / events if events else 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--cost-events", type=int, default=200_000)
    parser.add_argument("--worker", nargs="+")
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker[0], int(args.worker[1]))))
        return
    probe = fleet(PER_PACK_PROBE)
    from ionledger.epcis.stream import iter_events

    probe_events = sum(1 for p in documents(probe) for _ in iter_events(p.open("rb")))
    packs = max(1, round(args.events * PER_PACK_PROBE / probe_events))
    directory = fleet(packs, events_per_document=max(1_000, args.events // 100))
    run = run_worker("governance.py", str(directory), str(args.cost_events))
    final, base = run["final_events"], run["growth"][0]["stored_before"]  # base: the registry
    tenth = max(1, (final - base) // 10)
    early = _window(run["growth"], base, base + tenth)
    late = _window(run["growth"], final - 2 * tenth, final)
    out = {"target_events": args.events, "packs": packs, **run, "early": early, "late": late}
    out["late_over_early"] = late["per_s"] / early["per_s"]
    out["rules_late_over_early"] = late["rules_us_per_event"] / early["rules_us_per_event"]
    cost = run["cost"]
    summary = (
        f"governance: rules on {cost['rules_on_per_s']:,.0f} ev/s vs off "
        f"{cost['rules_off_per_s']:,.0f} ev/s over {cost['events_each']:,} events each "
        f"(cost {cost['cost']:.0%}); growth to {final:,} events: {early['per_s']:,.0f} ev/s "
        f"in the first {tenth:,}, {late['per_s']:,.0f} ev/s in the last {2 * tenth:,} "
        f"(ratio {out['late_over_early']:.2f}); the rules' own time per event "
        f"{early['rules_us_per_event']:.0f} us then {late['rules_us_per_event']:.0f} us "
        f"(ratio {out['rules_late_over_early']:.2f})"
    )
    write_result("governance", out, summary)


if __name__ == "__main__":
    main()
