"""The verifiable log's costs, all in one run.

1. Import rate with and without the log (same documents, fresh SQLite stores, alternating runs in
   fresh processes, best of each): the log's overhead.
2. `ionledger verify` on the logged store: seconds per million events.
3. Proofs from stored tiles at 10 M leaves (synthetic leaf hashes written by the same tile code
   into a SQLite store, page cache warmed): inclusion and consistency proofs generated and
   verified per second.
4. The peer library pymerkle (GPL: installed by this benchmark into a throwaway virtual
   environment, never a project dependency), appending the same entries to its SQLite tree and
   generating the same inclusion proofs as we do from our stored tiles; roots compared.

    python bench/ledger.py [--events 150000] [--leaves 10000000] [--proofs 50000]
                           [--peer-leaves 500000] [--peer-proofs 20000]
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import subprocess
import sys
import time
import venv
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import WORK, documents, fleet, import_files, run_worker, write_result

PYMERKLE = "pymerkle==7.0.0"
PEER = Path(__file__).resolve().parent / "pymerkle_peer.py"


# -- workers (each runs in a fresh process) ---------------------------------------------------
def worker_import(url: str, log: str, files: list[str]) -> dict[str, Any]:
    from ionledger.ledger.note import Signer
    from ionledger.services.importer import Importer
    from ionledger.services.log import Checkpointer
    from ionledger.settings import Settings
    from ionledger.store.open import init_store

    store = init_store(url)
    store.log_enabled = log == "1"
    signer = Signer.generate("ionledger.local")
    checkpointer = Checkpointer(store, signer, interval=3600) if store.log_enabled else None
    importer = Importer(store, Settings(database_url=url), checkpointer=checkpointer)
    result = import_files(importer, files)
    store.close()
    Path(url.removeprefix("sqlite:///") + ".vkey").write_text(signer.verifier().vkey())
    return result


def worker_verify(url: str) -> dict[str, Any]:
    from ionledger.ledger.note import Verifier
    from ionledger.services.verify import verify_log
    from ionledger.store.open import open_store

    vkey = Path(url.removeprefix("sqlite:///") + ".vkey").read_text()
    store = open_store(url)
    start = time.perf_counter()
    report = verify_log(store, Verifier.from_vkey(vkey))
    seconds = time.perf_counter() - start
    store.close()
    return {"events": report.events, "tiles": report.tiles, "seconds": seconds}


def _write_tiles(url: str, entries: Any, chunk: int = 100_000) -> tuple[int, float]:
    """Append leaf hashes of ``entries`` through the tile code into a SQLite store's tiles."""
    from ionledger.ledger.merkle import leaf_hash
    from ionledger.ledger.tiles import TiledTree
    from ionledger.store.open import init_store
    from ionledger.store.sql import TILE_UPSERT

    init_store(url).close()
    conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    tree = TiledTree()
    start = time.perf_counter()
    batch: list[bytes] = []
    conn.execute("BEGIN IMMEDIATE")

    def flush() -> None:
        tiles = tree.append([leaf_hash(e) for e in batch])
        conn.executemany(TILE_UPSERT, [(t.level, t.index, t.hashes, t.interior) for t in tiles])
        batch.clear()

    for entry in entries:
        batch.append(entry)
        if len(batch) >= chunk:
            flush()
    flush()
    conn.execute("COMMIT")
    conn.close()
    return tree.size, time.perf_counter() - start


def worker_build(url: str, leaves: str) -> dict[str, Any]:
    size, seconds = _write_tiles(url, (i.to_bytes(8, "big") for i in range(int(leaves))))
    return {"leaves": size, "seconds": seconds}


def _proof_rates(url: str, size: int, proofs: int, seed: int) -> dict[str, Any]:
    from ionledger.ledger.merkle import (
        consistency_proof,
        inclusion_proof,
        leaf_hash,
        tree_root,
        verify_consistency,
        verify_inclusion,
    )
    from ionledger.ledger.tiles import TileSource
    from ionledger.store.open import open_store

    store = open_store(url)
    # Warm the OS page cache first (the tiles of 10 M leaves are 640 MB): a node serving proofs
    # has them in memory, and a cold first pass would measure the disk, not the proofs.
    with sqlite3.connect(url.removeprefix("sqlite:///")) as warm:
        for _ in warm.execute("SELECT hashes, interior FROM log_tiles"):
            pass
    rng = random.Random(seed)
    indices = [rng.randrange(size) for _ in range(proofs)]
    pairs = [
        tuple(sorted((rng.randrange(1, size + 1), rng.randrange(1, size + 1))))
        for _ in range(proofs // 5)
    ]
    with store.reading(), store.tile_reader() as read:
        source = TileSource(read)
        root = tree_root(size, source)
        start = time.perf_counter()
        made = [inclusion_proof(i, size, source) for i in indices]
        gen = time.perf_counter() - start
        start = time.perf_counter()
        made_c = [consistency_proof(a, b, source) for a, b in pairs]
        gen_c = time.perf_counter() - start
        roots = {s: tree_root(s, source) for pair in pairs for s in pair}
    store.close()
    leaf = [leaf_hash(i.to_bytes(8, "big")) for i in indices]
    start = time.perf_counter()
    for i, h, proof in zip(indices, leaf, made, strict=True):
        verify_inclusion(i, size, h, proof, root)
    ver = time.perf_counter() - start
    start = time.perf_counter()
    for (a, b), proof in zip(pairs, made_c, strict=True):
        verify_consistency(a, b, roots[a], roots[b], proof)
    ver_c = time.perf_counter() - start
    return {
        "size": size,
        "root": root.hex(),
        "inclusion": {
            "proofs": proofs,
            "generate_per_s": proofs / gen,
            "verify_per_s": proofs / ver,
        },
        "consistency": {
            "proofs": len(pairs),
            "generate_per_s": len(pairs) / gen_c,
            "verify_per_s": len(pairs) / ver_c,
        },
    }


def worker_proofs(url: str, size: str, proofs: str) -> dict[str, Any]:
    return _proof_rates(url, int(size), int(proofs), seed=9162)


def worker_ours_peer(url: str, leaves: str, proofs: str) -> dict[str, Any]:
    """Our side of the pymerkle comparison: the same entries and the same proofs."""
    from ionledger.ledger.merkle import inclusion_proof
    from ionledger.ledger.tiles import TileSource
    from ionledger.store.open import open_store

    n, count = int(leaves), int(proofs)
    size, append_s = _write_tiles(url, (f"entry-{i}".encode() for i in range(n)))
    indices = random.Random(6962).sample(range(n), count)
    store = open_store(url)
    with store.reading(), store.tile_reader() as read:
        source = TileSource(read)
        start = time.perf_counter()
        for i in indices:
            inclusion_proof(i, size, source)
        prove_s = time.perf_counter() - start
        from ionledger.ledger.merkle import tree_root

        root = tree_root(size, source).hex()
    store.close()
    return {"append_per_s": n / append_s, "prove_per_s": count / prove_s, "root": root}


# -- the run ----------------------------------------------------------------------------------
def _peer_python() -> Path:
    env = WORK / "pymerkle-venv"
    python = env / "bin" / "python"
    if not python.exists():
        venv.create(env, with_pip=True)
    check = subprocess.run([str(python), "-c", "import pymerkle"], capture_output=True)
    if check.returncode != 0:
        subprocess.run([str(python), "-m", "pip", "install", "-q", PYMERKLE], check=True)
    return python


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=150_000)
    parser.add_argument("--leaves", type=int, default=10_000_000)
    parser.add_argument("--proofs", type=int, default=50_000)
    parser.add_argument("--peer-leaves", type=int, default=500_000)
    parser.add_argument("--peer-proofs", type=int, default=20_000)
    parser.add_argument("--worker", nargs="+")
    args = parser.parse_args()
    if args.worker:
        mode, *rest = args.worker
        result = {
            "import": lambda: worker_import(rest[0], rest[1], rest[2:]),
            "verify": lambda: worker_verify(rest[0]),
            "build": lambda: worker_build(rest[0], rest[1]),
            "proofs": lambda: worker_proofs(rest[0], rest[1], rest[2]),
            "ours-peer": lambda: worker_ours_peer(rest[0], rest[1], rest[2]),
        }[mode]()
        print(json.dumps(result))
        return

    WORK.mkdir(parents=True, exist_ok=True)
    out: dict[str, Any] = {}
    packs = max(1, round(args.events / 23))  # the generator writes about 23 events per pack
    files = [str(p) for p in documents(fleet(packs))]
    runs: dict[str, list[dict[str, Any]]] = {"0": [], "1": []}
    for log in ("0", "1", "0", "1"):
        db = WORK / f"ledger-import-{log}.db"
        for p in WORK.glob(f"ledger-import-{log}.db*"):
            p.unlink()
        runs[log].append(run_worker("ledger.py", "import", f"sqlite:///{db}", log, *files))
    best = {log: max(r["events"] / r["seconds"] for r in rs) for log, rs in runs.items()}
    out["import"] = {
        "events": runs["1"][0]["events"],
        "without_log_per_s": best["0"],
        "with_log_per_s": best["1"],
        "overhead": 1 - best["1"] / best["0"],
        "runs": runs,
    }
    verified = run_worker("ledger.py", "verify", f"sqlite:///{WORK / 'ledger-import-1.db'}")
    out["verify"] = {
        **verified,
        "seconds_per_million": verified["seconds"] / verified["events"] * 1e6,
    }

    big = WORK / f"ledger-{args.leaves}.db"
    if not (WORK / f"ledger-{args.leaves}.complete").exists():
        for p in WORK.glob(f"ledger-{args.leaves}.db*"):
            p.unlink()
        out["build"] = run_worker("ledger.py", "build", f"sqlite:///{big}", str(args.leaves))
        (WORK / f"ledger-{args.leaves}.complete").write_text("ok")
    out["proofs"] = run_worker(
        "ledger.py", "proofs", f"sqlite:///{big}", str(args.leaves), str(args.proofs)
    )

    peer_db = WORK / "ledger-peer-ours.db"
    for p in WORK.glob("ledger-peer-*"):
        p.unlink()
    ours = run_worker(
        "ledger.py",
        "ours-peer",
        f"sqlite:///{peer_db}",
        str(args.peer_leaves),
        str(args.peer_proofs),
    )
    python = _peer_python()
    theirs_raw = subprocess.run(
        [
            str(python),
            str(PEER),
            str(WORK / "ledger-peer-pymerkle.db"),
            str(args.peer_leaves),
            str(args.peer_proofs),
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    theirs = json.loads(theirs_raw.strip().splitlines()[-1])
    if theirs["root"] != ours["root"]:
        raise SystemExit(f"roots differ: ours {ours['root']}, pymerkle {theirs['root']}")
    out["peer"] = {
        "library": PYMERKLE,
        "leaves": args.peer_leaves,
        "proofs": args.peer_proofs,
        "roots_equal": True,
        "ours": ours,
        "pymerkle": theirs,
        "append_ratio": ours["append_per_s"] / theirs["append_per_s"],
        "prove_ratio": ours["prove_per_s"] / theirs["prove_per_s"],
    }
    inc = out["proofs"]["inclusion"]
    con = out["proofs"]["consistency"]
    summary = (
        f"ledger: log overhead {out['import']['overhead']:.1%} on import"
        f" ({best['1']:,.0f} vs {best['0']:,.0f} events/s);"
        f" at {args.leaves:,} leaves {inc['generate_per_s']:,.0f} inclusion proofs/s"
        f" (verify {inc['verify_per_s']:,.0f}/s), {con['generate_per_s']:,.0f} consistency"
        f" proofs/s; verify {out['verify']['seconds_per_million']:.0f} s per million events;"
        f" vs pymerkle: append x{out['peer']['append_ratio']:.1f},"
        f" proofs x{out['peer']['prove_ratio']:.1f}"
    )
    write_result("ledger", out, summary)


if __name__ == "__main__":
    main()
