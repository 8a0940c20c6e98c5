"""The verifiable log in the store, on both backends: tiles written with the events, checkpoints,
proofs from stored tiles, leaves reproducible from the served event, and `verify`."""

from __future__ import annotations

import hashlib
import io
import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from factory import code, document, lifecycle, urn
from ionledger.errors import ConfigurationError, NotFound, ProofError, ValidationError
from ionledger.ledger.bundle import verify_bundle
from ionledger.ledger.checkpoint import open_checkpoint
from ionledger.ledger.leaf import LEAF_FORMAT, event_leaf, stored_leaf
from ionledger.ledger.merkle import (
    LeafHashes,
    leaf_hash,
    tree_root,
    verify_consistency,
    verify_inclusion,
)
from ionledger.ledger.note import Signer
from ionledger.ledger.tiles import TiledTree
from ionledger.services.importer import Importer, ImportReport
from ionledger.services.log import (
    Checkpointer,
    consistency,
    create_key,
    entries_bytes,
    inclusion,
    load_signer,
    start_log,
    tile_bytes,
)
from ionledger.services.trace import trace
from ionledger.services.verify import verify_log
from ionledger.settings import Settings
from ionledger.store.port import EventStore

NODE = "ionledger.local"


@pytest.fixture
def signer() -> Signer:
    return Signer.generate(NODE)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def run(
    store: EventStore,
    events: list[dict[str, Any]],
    checkpointer: Checkpointer | None,
    *,
    proceed: bool = False,
    batch: int = 5000,
) -> ImportReport:
    settings = Settings(database_url=store.url, batch_size=batch)
    importer = Importer(store, settings, checkpointer=checkpointer)
    return importer.import_stream(
        io.BytesIO(json.dumps(document(events)).encode()), proceed=proceed
    )


def fleet(packs: int, start: int = 1) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for i in range(packs):
        events += lifecycle(code("P"), [code("M"), code("M")], start_day=start + i % 20)
    return events


def stored_leaf_hashes(store: EventStore) -> list[bytes]:
    return [
        leaf_hash(stored_leaf(e.identity, e.record_time, e.reporter, e.doc))
        for batch in store.iter_events()
        for e in batch
    ]


def test_every_event_is_a_leaf_and_the_tiles_match_the_leaves(
    store: EventStore, signer: Signer
) -> None:
    checkpointer = Checkpointer(store, signer, interval=3600)
    assert run(store, fleet(60), checkpointer, batch=97).ok  # batches cut tiles mid-way
    hashes = stored_leaf_hashes(store)
    assert store.log_size() == store.count_events() == len(hashes) == 420
    rebuilt = TiledTree()
    for tile in rebuilt.append(hashes):
        assert store.tile(tile.level, tile.index) == tile or not tile.full
    for tile in rebuilt.edge():
        assert store.tile(tile.level, tile.index) == tile
    assert store.tile_count(0) == 2
    assert store.tile_count(1) == 1
    assert store.tile_count(2) == 0
    latest = store.checkpoint()
    assert latest is not None
    assert latest.size == 420
    assert open_checkpoint(latest.note, signer.verifier()).root == tree_root(
        420, LeafHashes(hashes)
    )


def test_each_import_signs_a_checkpoint_and_all_are_kept(store: EventStore, signer: Signer) -> None:
    settings = Settings(database_url=store.url, log_key=signer.skey())
    start_log(store, settings)
    checkpointer = Checkpointer(store, signer, interval=3600)
    for packs in (3, 5, 2):
        assert run(store, fleet(packs), checkpointer).checkpoint == store.count_events()
    sizes = [c.size for c in store.checkpoints()]
    assert sizes == [0, 21, 56, 70]
    report = run(store, fleet(3)[:7], checkpointer)  # duplicates of nothing: new events
    assert report.checkpoint == 77
    again = run(store, [], checkpointer)
    assert again.checkpoint == 77
    assert [c.size for c in store.checkpoints()][-1] == 77
    verify_log(store, signer.verifier())


def test_a_rejected_document_leaves_no_tiles(store: EventStore, signer: Signer) -> None:
    checkpointer = Checkpointer(store, signer, interval=3600)
    assert run(store, fleet(2), checkpointer).ok
    before = (store.log_size(), store.tile(0, 0), [c.size for c in store.checkpoints()])
    bad = fleet(3)
    bad[-1]["eventTime"] = "yesterday"
    report = run(store, bad, checkpointer, batch=5)  # several batches written, then rolled back
    assert not report.committed
    assert (store.log_size(), store.tile(0, 0), [c.size for c in store.checkpoints()]) == before
    verify_log(store, signer.verifier())


def test_proceed_signs_at_most_once_per_interval(store: EventStore, signer: Signer) -> None:
    clock = Clock()
    checkpointer = Checkpointer(store, signer, interval=10, clock=clock)
    importer = Importer(
        store, Settings(database_url=store.url, batch_size=7), checkpointer=checkpointer
    )

    class Ticking(io.BytesIO):
        def read(self, n: int = -1) -> bytes:
            clock.now += 4.0  # time passes while the document streams in
            return super().read(min(n, 2000) if n and n > 0 else 2000)

    raw = json.dumps(document(fleet(10))).encode()
    report = importer.import_stream(Ticking(raw), proceed=True)
    assert report.ok
    sizes = [c.size for c in store.checkpoints()]
    assert sizes[-1] == 70
    assert 2 <= len(sizes) < 70 // 7  # some in between, not one per batch
    assert all(s % 7 == 0 for s in sizes)  # signed at batch commits


def test_tick_signs_what_continuous_capture_added(store: EventStore, signer: Signer) -> None:
    clock = Clock()
    checkpointer = Checkpointer(store, signer, interval=5, clock=clock)
    assert checkpointer.tick() is not None  # the empty log, never signed
    run(store, fleet(1), None)  # events arrive without a checkpoint of their own
    assert checkpointer.tick() is None  # within the interval
    clock.now = 6
    signed = checkpointer.tick()
    assert signed is not None
    assert signed.size == 7
    clock.now = 20
    assert checkpointer.tick() is None  # nothing new


def test_inclusion_proofs_for_every_event_verify(store: EventStore, signer: Signer) -> None:
    checkpointer = Checkpointer(store, signer, interval=3600)
    run(store, fleet(40), checkpointer, batch=33)
    checkpoint = open_checkpoint(store.checkpoints()[-1].note, signer.verifier())
    for batch in store.iter_events():
        for stored in batch:
            proof = inclusion(store, stored.identity)
            assert proof.leaf_index == stored.seq
            assert proof.tree_size == checkpoint.size
            leaf = leaf_hash(event_leaf(stored.identity, proof.record))
            verify_inclusion(stored.seq, checkpoint.size, leaf, proof.hashes, checkpoint.root)
            assert verify_bundle(proof.bundle(), signer.verifier()).leaf_index == stored.seq


def test_proofs_against_older_checkpoints_and_consistency(
    store: EventStore, signer: Signer
) -> None:
    checkpointer = Checkpointer(store, signer, interval=3600)
    for packs in (5, 40, 1):
        run(store, fleet(packs), checkpointer)
    notes = {c.size: open_checkpoint(c.note, signer.verifier()) for c in store.checkpoints()}
    first = store.events_between(3, 4)[0]
    old = inclusion(store, first.identity, size=35)
    assert old.tree_size == 35
    assert verify_bundle(old.bundle(), signer.verifier()).tree_size == 35
    sizes = sorted(notes)
    for a in sizes:
        for b in sizes:
            if a <= b:
                proof = consistency(store, a, b)
                verify_consistency(a, b, notes[a].root, notes[b].root, proof.hashes)
    late = store.events_between(300, 301)[0]
    with pytest.raises(NotFound, match="not yet covered"):
        inclusion(store, late.identity, size=35)
    with pytest.raises(NotFound, match="no checkpoint of size 36"):
        inclusion(store, first.identity, size=36)
    with pytest.raises(NotFound, match="no event"):
        inclusion(store, "urn:uuid:nothing")
    with pytest.raises(ValidationError, match="from <= to"):
        consistency(store, 40, 35)
    with pytest.raises(ValidationError, match="log size"):
        consistency(store, 0, 10_000)


def test_a_proof_against_a_wrong_size_or_root_fails(store: EventStore, signer: Signer) -> None:
    checkpointer = Checkpointer(store, signer, interval=3600)
    run(store, fleet(10), checkpointer)
    stored = store.events_between(17, 18)[0]
    proof = inclusion(store, stored.identity)
    bundle = proof.bundle()
    bundle["leafIndex"] = 18
    with pytest.raises(ProofError):
        verify_bundle(bundle, signer.verifier())
    bundle = proof.bundle()
    bundle["event"]["bizStep"] = "shipping"  # the record no longer gives the leaf
    with pytest.raises(ProofError):
        verify_bundle(bundle, signer.verifier())


def test_tiles_and_entry_bundles_as_tlog_tiles_serves_them(
    store: EventStore, signer: Signer
) -> None:
    run(store, fleet(40), Checkpointer(store, signer, interval=3600))  # 280 leaves
    full = tile_bytes(store, 0, 0, 256)
    assert len(full) == 256 * 32
    partial = tile_bytes(store, 0, 1, 24)
    assert partial == store.tile(0, 1).hashes  # type: ignore[union-attr]
    assert tile_bytes(store, 0, 1, 5) == partial[: 5 * 32]
    with pytest.raises(NotFound):
        tile_bytes(store, 0, 1, 256)  # not full yet
    with pytest.raises(NotFound):
        tile_bytes(store, 0, 2, 1)
    bundle = entries_bytes(store, 1, 24)
    entries, pos = [], 0
    while pos < len(bundle):
        n = int.from_bytes(bundle[pos : pos + 2], "big")
        entries.append(bundle[pos + 2 : pos + 2 + n])
        pos += 2 + n
    assert len(entries) == 24
    assert [leaf_hash(e) for e in entries] == [
        partial[i : i + 32] for i in range(0, len(partial), 32)
    ]
    assert all(e.startswith(LEAF_FORMAT.encode() + b"\n") for e in entries)
    with pytest.raises(NotFound, match="280 leaves"):
        entries_bytes(store, 1, 25)


def test_the_leaf_is_reproducible_from_the_served_event(store: EventStore, signer: Signer) -> None:
    """What the API serves for an event is enough to recompute its leaf."""
    pack = code("P")
    run(store, lifecycle(pack, [code("M")]), Checkpointer(store, signer, interval=60))
    served = trace(store, urn(pack)).timeline
    for entry in served:
        stored = store.event(entry.identity)
        assert stored is not None
        record = dict(entry.event, recordTime=entry.record_time)
        record["ion:reportedBy"] = entry.reporter
        assert event_leaf(entry.identity, record) == stored_leaf(
            stored.identity, stored.record_time, stored.reporter, stored.doc
        )


def test_an_event_without_reporter_is_logged_with_the_importers() -> None:
    """A reporter given by `import --as` is part of the record the leaf commits to."""
    doc = json.dumps({"type": "ObjectEvent", "eventTime": "2024-01-01T00:00:00Z"}).encode()
    a = stored_leaf("id", "2024-01-02T00:00:00.000000Z", "alice", doc)
    b = stored_leaf("id", "2024-01-02T00:00:00.000000Z", "bob", doc)
    assert a != b


def test_the_leaf_format_is_frozen() -> None:
    """v1 leaves must never change meaning: this pins the bytes for a fixed record."""
    record = {
        "type": "ObjectEvent",
        "eventTime": "2024-03-01T10:00:00.000+08:00",
        "epcList": ["urn:ionledger:gbt34014:03HPB0C1234567D5H0000001"],
        "action": "OBSERVE",
        "sensorElementList": [{"sensorReport": [{"type": "ion:StateOfHealth", "value": 76.0}]}],
        "recordTime": "2024-03-02T00:00:00.000000Z",
        "ion:reportedBy": "91440300MA5FXXXX1X",
    }
    # RFC 8785 by hand: members in UTF-16 order, 76.0 written as 76, no whitespace.
    canonical = (
        b'{"action":"OBSERVE","epcList":["urn:ionledger:gbt34014:03HPB0C1234567D5H0000001"],'
        b'"eventTime":"2024-03-01T10:00:00.000+08:00","ion:reportedBy":"91440300MA5FXXXX1X",'
        b'"recordTime":"2024-03-02T00:00:00.000000Z","sensorElementList":[{"sensorReport":'
        b'[{"type":"ion:StateOfHealth","value":76}]}],"type":"ObjectEvent"}'
    )
    digest = hashlib.sha256(canonical).hexdigest()
    assert digest == "5fc96e23ec3b39d44e0ac2b77243de0d28858c8a0958534ad019e185b49ef5dd"
    leaf = event_leaf("urn:uuid:00000000-0000-4000-8000-000000000001", record)
    assert leaf == (
        b"ionledger/event/v1\nurn:uuid:00000000-0000-4000-8000-000000000001\n"
        + digest.encode()
        + b"\n"
    )


def test_the_key_is_created_once_with_mode_0600(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'x.db'}")
    path = create_key(settings)
    assert path == tmp_path / "x.db.key"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    first = load_signer(settings)
    assert create_key(settings) is None  # never overwritten
    assert load_signer(settings) == first
    assert first.name == NODE
    inline = Settings(database_url="sqlite:///elsewhere.db", log_key=first.skey())
    assert create_key(inline) is None
    assert load_signer(inline) == first
    other = Settings(database_url=settings.database_url, node_name="gd.ionledger.cn")
    with pytest.raises(ConfigurationError, match=r"named 'ionledger\.local'"):
        load_signer(other)
    with pytest.raises(ConfigurationError, match="ionledger init"):
        load_signer(Settings(database_url=f"sqlite:///{tmp_path / 'none.db'}"))


def test_a_store_written_without_the_log_refuses_logged_writes(
    store: EventStore, signer: Signer
) -> None:
    store.log_enabled = False
    run(store, fleet(1), None)
    store.log_enabled = True
    with pytest.raises(Exception, match="log has 0 leaves but the store 7 events"):
        run(store, fleet(1), None)


def test_log_settings_come_from_the_environment() -> None:
    env = {
        "IONLEDGER_LOG_KEY": "PRIVATE+KEY+x",
        "IONLEDGER_CHECKPOINT_INTERVAL": "2.5",
        "IONLEDGER_BATCH_SIZE": "7",
        "IONLEDGER_NODE_NAME": "sc.ionledger.cn",
    }
    settings = Settings.from_env(env, database_url="sqlite:///data/a.db")
    assert (settings.log_key, settings.checkpoint_interval) == ("PRIVATE+KEY+x", 2.5)
    assert (settings.batch_size, settings.node_name) == (7, "sc.ionledger.cn")
    assert settings.key_file() == Path("data/a.db.key")
    pg = Settings.from_env({"IONLEDGER_DATABASE_URL": "postgresql://h/db"})
    assert pg.key_file() == Path("ionledger-log.key")
    chosen = Settings.from_env({"IONLEDGER_LOG_KEY_FILE": "/etc/ionledger/log.key"})
    assert chosen.key_file() == Path("/etc/ionledger/log.key")
