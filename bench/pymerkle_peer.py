"""The peer side of bench/ledger.py, run by the throwaway pymerkle environment's Python.

Appends the same entries to pymerkle's SQLite tree and generates the same inclusion proofs as our
side (pymerkle counts leaves from 1). Prints one JSON line. Imports nothing from ionledger.

    python pymerkle_peer.py DBFILE LEAVES PROOFS
"""

from __future__ import annotations

import json
import random
import sys
import time

from pymerkle import SqliteTree


def main() -> None:
    path, leaves, proofs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    tree = SqliteTree(path, algorithm="sha256")
    entries = [f"entry-{i}".encode() for i in range(leaves)]
    start = time.perf_counter()
    tree.append_entries(entries)
    append_s = time.perf_counter() - start
    size = tree.get_size()
    indices = random.Random(6962).sample(range(leaves), proofs)
    start = time.perf_counter()
    for i in indices:
        tree.prove_inclusion(i + 1, size)
    prove_s = time.perf_counter() - start
    root = tree.get_root(size).hex()
    tree.close()
    print(
        json.dumps(
            {"append_per_s": leaves / append_s, "prove_per_s": proofs / prove_s, "root": root}
        )
    )


if __name__ == "__main__":
    main()
