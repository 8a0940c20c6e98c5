"""The verifiable log as a service: the node's key, checkpoints, proofs, tiles and entry bundles.

The tree itself is written by the store, in the transaction that stores the events. This module
signs checkpoints over it and reads proofs out of the stored tiles.
"""

from __future__ import annotations

import base64
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ionledger.epcis.times import now_key
from ionledger.errors import ConfigurationError, NotFound, ValidationError
from ionledger.ledger.bundle import BUNDLE_FORMAT
from ionledger.ledger.checkpoint import Checkpoint, sign_checkpoint
from ionledger.ledger.leaf import record_of, stored_leaf
from ionledger.ledger.merkle import consistency_proof, inclusion_proof, tree_root
from ionledger.ledger.note import Signer
from ionledger.ledger.tiles import TILE_WIDTH, TileSource, entry_bundle
from ionledger.settings import Settings
from ionledger.store.port import EventStore, StoredCheckpoint, Writer

# -- the key ---------------------------------------------------------------------------------


def create_key(settings: Settings) -> Path | None:
    """Create the log's signing key file (mode 0600) unless a key is configured or exists.

    Returns the path written, or None when nothing was created.
    """
    if settings.log_key:
        return None
    path = settings.key_file()
    if path.exists():
        return None
    signer = Signer.generate(settings.node_name)
    path.parent.mkdir(parents=True, exist_ok=True)
    # O_EXCL: never overwrite a key another process just made; 0600 from the first byte.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(signer.skey() + "\n")
    return path


def load_signer(settings: Settings) -> Signer:
    """The node's log signer: $IONLEDGER_LOG_KEY, else the key file."""
    if settings.log_key:
        text, where = settings.log_key, "IONLEDGER_LOG_KEY"
    else:
        path = settings.key_file()
        if not path.exists():
            raise ConfigurationError(
                f"no log signing key at {path}: run `ionledger init`, or set IONLEDGER_LOG_KEY"
                " or IONLEDGER_LOG_KEY_FILE"
            )
        text, where = path.read_text(encoding="utf-8").strip(), str(path)
    signer = Signer.from_skey(text.strip())
    if signer.name != settings.node_name:
        raise ConfigurationError(
            f"the log key in {where} is named {signer.name!r} but this node is"
            f" {settings.node_name!r} (IONLEDGER_NODE_NAME): checkpoints name their origin"
        )
    return signer


def start_log(store: EventStore, settings: Settings) -> tuple[Signer, Path | None]:
    """At init: the node's key (created unless there is one) and a checkpoint of the log as it
    is, so that a new store's log starts signed at size 0. Returns the signer and the key file
    created, if any."""
    created = create_key(settings)
    signer = load_signer(settings)
    checkpointer = Checkpointer(store, signer, interval=settings.checkpoint_interval)
    with store.writer() as writer:
        if checkpointer.now(writer) is not None:
            writer.commit()
    return signer, created


# -- checkpoints -----------------------------------------------------------------------------


def sign_in(writer: Writer, signer: Signer) -> StoredCheckpoint:
    """Sign and keep a checkpoint of the tree as ``writer`` sees it (call it under its lock)."""
    size = writer.log_size()
    root = tree_root(size, TileSource(writer.tile))
    note = sign_checkpoint(Checkpoint(signer.name, size, root), signer)
    checkpoint = StoredCheckpoint(size, note, now_key())
    writer.add_checkpoint(checkpoint)
    return checkpoint


class Checkpointer:
    """When to sign: after every import, and at most every ``interval`` seconds while events
    keep arriving (with a background ``tick`` so that the last ones are never left unsigned)."""

    def __init__(
        self,
        store: EventStore,
        signer: Signer,
        *,
        interval: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.signer = signer
        self.interval = interval
        self.clock = clock
        latest = store.checkpoint()
        self.signed_size = latest.size if latest else -1
        self.signed_at = float("-inf")

    def _sign(self, writer: Writer) -> StoredCheckpoint:
        checkpoint = sign_in(writer, self.signer)
        self.signed_size, self.signed_at = checkpoint.size, self.clock()
        return checkpoint

    def now(self, writer: Writer) -> StoredCheckpoint | None:
        """Sign the tree as it is, if it grew since the last checkpoint (end of an import)."""
        return self._sign(writer) if writer.log_size() != self.signed_size else None

    def after_write(self, writer: Writer) -> StoredCheckpoint | None:
        """Under continuous capture: sign if the interval has passed since the last one."""
        if self.clock() - self.signed_at < self.interval:
            return None
        return self.now(writer)

    def tick(self) -> StoredCheckpoint | None:
        """From a timer: sign what arrived since the last checkpoint, once the interval passed."""
        if self.clock() - self.signed_at < self.interval:
            return None
        if self.store.log_size() == self.signed_size:
            return None
        with self.store.writer() as writer:
            checkpoint = self.now(writer)
            writer.commit()
        return checkpoint


# -- proofs ----------------------------------------------------------------------------------


def _b64(hashes: list[bytes]) -> list[str]:
    return [base64.b64encode(h).decode() for h in hashes]


@dataclass(frozen=True, slots=True)
class InclusionProof:
    identity: str
    leaf_index: int
    tree_size: int
    hashes: list[bytes]
    checkpoint: StoredCheckpoint
    record: dict[str, Any]  # the event as served, from which the leaf is recomputed

    def as_dict(self) -> dict[str, Any]:
        return {
            "identity": self.identity,
            "leafIndex": self.leaf_index,
            "treeSize": self.tree_size,
            "inclusionProof": _b64(self.hashes),
            "checkpoint": self.checkpoint.note,
        }

    def bundle(self) -> dict[str, Any]:
        """The self-contained bundle `ionledger verify-proof` checks offline."""
        return {"format": BUNDLE_FORMAT, "event": self.record, **self.as_dict()}


def checkpoint_of(store: EventStore, size: int | None = None) -> StoredCheckpoint:
    """The checkpoint of ``size``, or the latest; NotFound says which sizes exist."""
    checkpoint = store.checkpoint(size)
    if checkpoint is None:
        if size is None:
            raise NotFound("the log has no checkpoint yet: run `ionledger init` or an import")
        sizes = [c.size for c in store.checkpoints()][-5:]
        raise NotFound(f"no checkpoint of size {size} (latest sizes: {sizes})")
    return checkpoint


def inclusion(store: EventStore, identity: str, size: int | None = None) -> InclusionProof:
    """Proof that an event is in the tree of a checkpoint (the latest, or the one of ``size``)."""
    with store.reading(), store.tile_reader() as read:
        event = store.event(identity)
        if event is None:
            raise NotFound(f"no event {identity!r}")
        checkpoint = checkpoint_of(store, size)
        if event.seq >= checkpoint.size:
            raise NotFound(
                f"event {identity!r} is leaf {event.seq}, not yet covered by the checkpoint of"
                f" size {checkpoint.size}: the next checkpoint will cover it"
            )
        hashes = inclusion_proof(event.seq, checkpoint.size, TileSource(read))
    record = record_of(event.doc, event.record_time, event.reporter)
    return InclusionProof(identity, event.seq, checkpoint.size, hashes, checkpoint, record)


@dataclass(frozen=True, slots=True)
class ConsistencyProof:
    first: int
    second: int
    hashes: list[bytes]
    checkpoints: list[StoredCheckpoint]  # those of the two sizes that exist

    def as_dict(self) -> dict[str, Any]:
        return {
            "from": self.first,
            "to": self.second,
            "consistencyProof": _b64(self.hashes),
            "checkpoints": [c.note for c in self.checkpoints],
        }


def consistency(store: EventStore, first: int, second: int) -> ConsistencyProof:
    """Proof that the tree of size ``second`` extends the tree of size ``first``."""
    with store.reading(), store.tile_reader() as read:
        size = store.log_size()
        if not 0 <= first <= second <= size:
            raise ValidationError(
                f"consistency from {first} to {second}: need 0 <= from <= to <= {size} (log size)"
            )
        hashes = consistency_proof(first, second, TileSource(read))
        found = [store.checkpoint(s) for s in dict.fromkeys((first, second))]
    return ConsistencyProof(first, second, hashes, [c for c in found if c is not None])


# -- tlog-tiles resources --------------------------------------------------------------------


def tile_bytes(store: EventStore, level: int, index: int, width: int) -> bytes:
    """A tile as tlog-tiles serves it: full (width 256), or the first ``width`` hashes."""
    tile = store.tile(level, index)
    if tile is None or tile.width < width:  # a full tile is asked for with width 256
        raise NotFound(f"no tile {level}/{index} of width {width}")
    return tile.hashes[: width * 32]


def entries_bytes(store: EventStore, index: int, width: int) -> bytes:
    """An entry bundle: the leaves of ``width`` events from ``index * 256``, length-prefixed."""
    start = index * TILE_WIDTH
    with store.reading():
        size = store.log_size()
        if start + width > size:
            raise NotFound(f"no entry bundle {index} of width {width}: the log has {size} leaves")
        events = store.events_between(start, start + width)
    return entry_bundle(stored_leaf(e.identity, e.record_time, e.reporter, e.doc) for e in events)
