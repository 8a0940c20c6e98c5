"""Self-contained proof bundles, checked offline with nothing but the log's public key.

A bundle (JSON object, format ``ionledger-proof/v1``) holds::

    event           the event record as served (the leaf is recomputed from it)
    identity        the event's identity (eventID, else its hash ID)
    leafIndex       its position in the log
    treeSize        the size of the tree the proof is for
    inclusionProof  RFC 9162 inclusion proof, base64 hashes
    checkpoint      the signed C2SP checkpoint (note text) whose root the proof reaches
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ionledger.errors import ProofError
from ionledger.ledger.checkpoint import open_checkpoint
from ionledger.ledger.leaf import event_leaf
from ionledger.ledger.merkle import leaf_hash, verify_inclusion
from ionledger.ledger.note import Verifier

BUNDLE_FORMAT = "ionledger-proof/v1"


@dataclass(frozen=True, slots=True)
class BundleCheck:
    """What a verified bundle proves: this event is leaf ``leaf_index`` of the log ``origin``
    at size ``tree_size``, whose root its key signed."""

    identity: str
    leaf_index: int
    tree_size: int
    origin: str
    root: bytes


def _field(bundle: Mapping[str, Any], name: str, kind: type) -> Any:
    value = bundle.get(name)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ProofError(f"bundle field {name!r}: expected {kind.__name__}, got {value!r:.60}")
    return value


def _hashes(values: list[Any]) -> list[bytes]:
    out = []
    for i, value in enumerate(values):
        try:
            out.append(base64.b64decode(str(value), validate=True))
        except (binascii.Error, ValueError) as exc:
            raise ProofError(f"inclusionProof[{i}] is not base64: {value!r:.60}") from exc
    return out


def verify_bundle(bundle: Mapping[str, Any], verifier: Verifier) -> BundleCheck:
    """Check a bundle against the log's key; raises ProofError or SignatureError naming why."""
    if bundle.get("format") != BUNDLE_FORMAT:
        found = bundle.get("format")
        raise ProofError(f"not a proof bundle: format {found!r}, expected {BUNDLE_FORMAT!r}")
    identity: str = _field(bundle, "identity", str)
    event: dict[str, Any] = _field(bundle, "event", dict)
    index: int = _field(bundle, "leafIndex", int)
    size: int = _field(bundle, "treeSize", int)
    proof = _hashes(_field(bundle, "inclusionProof", list))
    checkpoint = open_checkpoint(_field(bundle, "checkpoint", str), verifier)
    if checkpoint.size != size:
        raise ProofError(f"treeSize {size} differs from the checkpoint's size {checkpoint.size}")
    if "eventID" in event and event["eventID"] != identity:
        raise ProofError(f"identity {identity!r} differs from the event's eventID")
    try:
        leaf = event_leaf(identity, event)
    except (ValueError, TypeError) as exc:
        raise ProofError(f"the event cannot be encoded as a leaf: {exc}") from exc
    verify_inclusion(index, size, leaf_hash(leaf), proof, checkpoint.root)
    return BundleCheck(identity, index, size, checkpoint.origin, checkpoint.root)
