"""Run every benchmark (``make bench``); ``--quick`` runs them at a size that takes minutes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    quick = "--quick" in sys.argv[1:]
    runs = [
        ["stream.py"],
        ["import_rate.py", "--events", "100000" if quick else "1000000"],
        ["memory.py", "--mb", "100" if quick else "1024"],
        ["trace_latency.py", "--events", "200000" if quick else "10000000"],
        ["sim.py", "--draws", "100" if quick else "1000"],
        ["ledger.py"]
        + (
            ["--events", "30000", "--leaves", "1000000", "--peer-leaves", "100000"] if quick else []
        ),
    ]
    for run in runs:
        subprocess.run([sys.executable, str(HERE / run[0]), *run[1:]], check=True)


if __name__ == "__main__":
    main()
