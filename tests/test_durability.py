"""A process killed with SIGKILL mid-import leaves the store exactly at a committed batch boundary.

Each backend, each error mode: an import subprocess is killed after a random number of committed
batches plus a random slice of the next (proceed), or at a random time (rollback). After each kill
the stored events must be a prefix of the document that ends on a batch boundary (proceed: every
batch commits; rollback: the document is one transaction), and the projections must equal what
rebuild computes from those events.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from factory import code, lifecycle, write
from ionledger.ledger.note import Signer
from ionledger.services.rebuild import rebuild
from ionledger.services.verify import verify_log
from ionledger.store import schema
from ionledger.store.open import init_store, open_store

BATCH = 100
KILLS = 6


def _cmd(doc: Path, url: str, proceed: bool) -> list[str]:
    cmd = [sys.executable, "-m", "ionledger", "import", str(doc), "--db", url]
    return cmd + (["--proceed"] if proceed else [])


def _empty(url: str) -> None:
    store = open_store(url)
    with store.engine.begin() as conn:  # type: ignore[attr-defined]
        for table in (schema.events, *schema.PROJECTIONS, schema.log_tiles, schema.log_checkpoints):
            conn.exec_driver_sql(f"DELETE FROM {table.name}")
    store.close()


def _wait_for(url: str, proc: subprocess.Popen[bytes], events: int) -> None:
    """Poll the store from outside until `events` are committed or the import has exited."""
    store = open_store(url)
    try:
        while proc.poll() is None and store.count_events() < events:
            time.sleep(0.002)
    finally:
        store.close()


_KEY = Signer.generate("ionledger.local").skey()


def _env() -> dict[str, str]:
    return {**os.environ, "IONLEDGER_BATCH_SIZE": str(BATCH), "IONLEDGER_LOG_KEY": _KEY}


@pytest.mark.slow
@pytest.mark.parametrize("proceed", [True, False], ids=["proceed", "rollback"])
def test_sigkill_at_random_points(store_url: str, tmp_path: Path, proceed: bool) -> None:
    events = []
    for i in range(1000):
        events += lifecycle(code("P"), [code("M"), code("M")], start_day=1 + i % 20)
    doc = write(tmp_path / "doc.json", events)
    order = [e["eventID"] for e in events]
    init_store(store_url).close()

    # The reference run: the same document imported without interruption.
    scratch = f"sqlite:///{tmp_path / 'scratch.db'}"
    init_store(scratch).close()
    t0 = time.monotonic()
    subprocess.run(_cmd(doc, scratch, proceed), env=_env(), check=True, capture_output=True)
    full = time.monotonic() - t0

    rng = random.Random(20261122)
    seen_counts = set()
    for _ in range(KILLS):
        _empty(store_url)  # each kill point is tried on a fresh store
        proc = subprocess.Popen(
            _cmd(doc, store_url, proceed),
            env=_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if proceed:
            # Kill once a random number of batches has committed, plus a random slice of a
            # batch, so that kills land mid-batch and no machine is too fast for the window.
            _wait_for(store_url, proc, rng.randrange(1, len(order) // BATCH) * BATCH)
            time.sleep(rng.uniform(0, 0.02))
        else:
            # A rolled-back import shows nothing until its end, so kill on the clock.
            time.sleep(rng.uniform(0, full))
        proc.kill()
        proc.wait()
        store = open_store(store_url)
        stored = [e.identity for batch in store.iter_events() for e in batch]
        n = len(stored)
        seen_counts.add(n)
        assert stored == order[:n], "stored events are not a prefix of the document"
        if proceed:
            assert n % BATCH == 0 or n == len(order), f"{n} events: not a batch boundary"
        else:
            assert n in (0, len(order)), f"{n} events: a rolled-back document left a part"
        before = store.projection_snapshot()
        rebuild(store)
        assert store.projection_snapshot() == before, "projections disagree with the events"
        verify_log(store, Signer.from_skey(_KEY).verifier())  # the log covers exactly those
        store.close()

    done = subprocess.run(_cmd(doc, store_url, proceed), env=_env(), capture_output=True)
    assert done.returncode == 0, done.stdout + done.stderr
    store = open_store(store_url)
    assert [e.identity for b in store.iter_events() for e in b] == order
    reference = open_store(scratch)
    assert store.projection_snapshot() == reference.projection_snapshot()
    store.close()
    reference.close()
    print(f"kill points left {sorted(seen_counts)} of {len(order)} events")
    # The kills must have hit the import while it was writing, or this test proved nothing.
    assert any(0 < n < len(order) for n in seen_counts) or not proceed
