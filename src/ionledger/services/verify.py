"""``ionledger verify``: recompute the whole log from the stored events and compare.

Every leaf is recomputed from its event row, the tree is rebuilt tile by tile beside the stored
one, every checkpoint's signature is checked and its root compared with the recomputed root at
its size, and each checkpoint is proved consistent with the next from the stored tiles. The first
discrepancy raises IntegrityError naming the event, tile or checkpoint.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise

import msgspec

from ionledger.domain.vocabulary import bare_biz_step
from ionledger.epcis.times import utc_key
from ionledger.errors import IntegrityError, ProofError, SignatureError
from ionledger.ledger.checkpoint import Checkpoint, open_checkpoint
from ionledger.ledger.leaf import record_of, stored_leaf
from ionledger.ledger.merkle import (
    CompactRange,
    consistency_proof,
    leaf_hash,
    verify_consistency,
)
from ionledger.ledger.note import Verifier
from ionledger.ledger.tiles import TILE_HEIGHT, TILE_WIDTH, Tile, TiledTree, TileSource
from ionledger.store.port import EventStore, StoredEvent


@dataclass(frozen=True, slots=True)
class VerifyReport:
    events: int
    tiles: int
    checkpoints: int


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _event_where(event: StoredEvent) -> str:
    return f"event {event.seq} ({event.identity})"


def _leaf_of(event: StoredEvent) -> bytes:
    """The event's leaf hash, after checking that its indexed columns agree with its JSON."""
    where = _event_where(event)
    try:
        record = record_of(event.doc, event.record_time, event.reporter)
    except (msgspec.DecodeError, ValueError, TypeError) as exc:  # bad UTF-8 is a ValueError
        raise IntegrityError(f"stored JSON is unreadable: {exc}", where=where) from exc
    if not isinstance(record, dict):
        raise IntegrityError("stored JSON is not an object", where=where)
    columns = {
        "event_type": (event.event_type, record.get("type")),
        "biz_step": (event.biz_step, bare_biz_step(record.get("bizStep"))),
    }
    try:
        columns["event_time"] = (event.event_time, utc_key(str(record.get("eventTime"))))
    except ValueError:
        columns["event_time"] = (event.event_time, record.get("eventTime"))
    for column, (stored, derived) in columns.items():
        if stored != derived:
            raise IntegrityError(
                f"column {column} is {stored!r} but the event's JSON says {derived!r}", where=where
            )
    try:
        return leaf_hash(stored_leaf(event.identity, event.record_time, event.reporter, event.doc))
    except (ValueError, TypeError) as exc:
        raise IntegrityError(f"cannot encode the leaf: {exc}", where=where) from exc


def _compare_tile(store: EventStore, rebuilt: Tile) -> None:
    """A rebuilt tile against the stored one; level-0 differences name the event."""
    stored = store.tile(rebuilt.level, rebuilt.index)
    where = f"tile {rebuilt.level}/{rebuilt.index}"
    if stored is None:
        raise IntegrityError("missing from the store", where=where)
    if stored.width != rebuilt.width:
        raise IntegrityError(
            f"stored with {stored.width} hashes, the events give {rebuilt.width}", where=where
        )
    if stored.hashes != rebuilt.hashes:
        i = next(
            i
            for i in range(rebuilt.width)
            if stored.node(0, i) != rebuilt.node(0, i)  # the first differing hash
        )
        if rebuilt.level == 0:
            seq = rebuilt.index * TILE_WIDTH + i
            found = store.events_between(seq, seq + 1)
            name = f"event {seq}" + (f" ({found[0].identity})" if found else "")
            raise IntegrityError(
                f"leaf hash differs from hash {i} of {where}: the event or the tile was altered",
                where=name,
            )
        raise IntegrityError(f"hash {i} differs from the one the events give", where=where)
    if stored.interior != rebuilt.interior:
        raise IntegrityError("interior hashes differ from the ones the events give", where=where)


class _Level0:
    """Each recomputed leaf hash against the stored one, as the events stream past: a
    difference is pinned to its event before any root or tile above it disagrees."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self.tile: Tile | None = None

    def check(self, event: StoredEvent, leaf: bytes) -> None:
        index, position = divmod(event.seq, TILE_WIDTH)
        if self.tile is None or self.tile.index != index or self.tile.width <= position:
            self.tile = self.store.tile(0, index)
        if self.tile is None or self.tile.width <= position:
            have = "missing" if self.tile is None else f"only {self.tile.width} wide"
            raise IntegrityError(
                f"has no hash for event {event.seq}: {have}", where=f"tile 0/{index}"
            )
        if self.tile.node(0, position) != leaf:
            raise IntegrityError(
                f"its leaf hash differs from hash {position} of tile 0/{index}: the event or"
                " the tile was altered",
                where=_event_where(event),
            )


def verify_log(
    store: EventStore,
    verifier: Verifier,
    *,
    batch: int = 10_000,
    progress: Callable[[int], None] | None = None,
) -> VerifyReport:
    """Check everything; raise IntegrityError at the first discrepancy."""
    with store.reading():
        return _verify(store, verifier, batch, progress)


def _open_checkpoints(store: EventStore, verifier: Verifier) -> list[Checkpoint]:
    opened: list[Checkpoint] = []
    for stored in store.checkpoints():
        where = f"checkpoint {stored.size}"
        try:
            checkpoint = open_checkpoint(stored.note, verifier)
        except SignatureError as exc:
            raise IntegrityError(exc.message, where=where) from exc
        if checkpoint.size != stored.size:
            raise IntegrityError(f"the signed note says size {checkpoint.size}", where=where)
        opened.append(checkpoint)
    return opened


def _verify(
    store: EventStore,
    verifier: Verifier,
    batch: int,
    progress: Callable[[int], None] | None,
) -> VerifyReport:
    checkpoints = _open_checkpoints(store, verifier)
    pending = list(checkpoints)  # checked when the recomputed tree reaches their size
    tree = TiledTree()
    frontier = CompactRange()
    tiles = 0

    def check_roots() -> None:
        while pending and pending[0].size == frontier.size:
            checkpoint = pending.pop(0)
            if checkpoint.root != frontier.root():
                raise IntegrityError(
                    f"signed root {_b64(checkpoint.root)} differs from the events' root"
                    f" {_b64(frontier.root())}",
                    where=f"checkpoint {checkpoint.size}",
                )

    check_roots()
    level0 = _Level0(store)
    for events in store.iter_events(batch=batch):
        hashes = []
        for event in events:
            if event.seq != frontier.size:
                raise IntegrityError(
                    f"missing: the next stored event is {event.seq} ({event.identity})",
                    where=f"event {frontier.size}",
                )
            hashes.append(_leaf_of(event))
            level0.check(event, hashes[-1])
            frontier.append(hashes[-1])
            check_roots()
        for tile in tree.append(hashes):
            if tile.full:
                _compare_tile(store, tile)
                tiles += 1
        if progress is not None:
            progress(frontier.size)
    for tile in tree.edge():
        _compare_tile(store, tile)
        tiles += 1
    _no_extra_tiles(store, tree.size)
    if pending:
        raise IntegrityError(
            f"signed for {pending[0].size} leaves but the store holds {frontier.size} events",
            where=f"checkpoint {pending[0].size}",
        )
    source = TileSource(store.tile)
    for older, newer in pairwise(checkpoints):
        try:
            proof = consistency_proof(older.size, newer.size, source)
            verify_consistency(older.size, newer.size, older.root, newer.root, proof)
        except ProofError as exc:
            raise IntegrityError(
                f"not consistent with checkpoint {newer.size}: {exc.message}",
                where=f"checkpoint {older.size}",
            ) from exc
    return VerifyReport(events=frontier.size, tiles=tiles, checkpoints=len(checkpoints))


def _no_extra_tiles(store: EventStore, size: int) -> None:
    """The store holds exactly the tiles a tree of ``size`` has, at every level."""
    for level in range(64):
        count = size >> (TILE_HEIGHT * level)
        expected = (count + TILE_WIDTH - 1) // TILE_WIDTH
        stored = store.tile_count(level)
        if stored != expected:
            raise IntegrityError(
                f"{stored} tiles stored, a tree of {size} leaves has {expected}",
                where=f"tile level {level}",
            )
        if count == 0:
            return
