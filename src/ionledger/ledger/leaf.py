"""The log's leaf: a canonical byte encoding of one stored event record (format v1, frozen).

A leaf is three newline-terminated lines of UTF-8::

    ionledger/event/v1
    <identity>                      the event's identity: its eventID, else its hash ID
    <sha-256 of the record, hex>    lowercase hex of SHA-256(JCS(record))

The *record* is the event as the API serves it: the captured EPCIS event JSON object with
``recordTime`` set to the time the node recorded it and ``ion:reportedBy`` to the enterprise the
node accepted it from (which a document may leave to the importer to say). JCS is RFC 8785, so
the leaf can be recomputed from the event alone, by anyone, with any JSON library.

The leaf commits to the whole record but carries only its digest: tiles and entry bundles are
public, event contents are not (a provincial regulator or a rival must not read another firm's
shipments out of the log). The first line names the format, so that a later format can be added
without changing what existing leaves mean.
"""

from __future__ import annotations

import hashlib
from typing import Any

import msgspec

from ionledger.domain.vocabulary import FIELD_REPORTED_BY
from ionledger.ledger.canonical import canonical_json, canonical_json_bytes

LEAF_FORMAT = "ionledger/event/v1"
_PREFIX = (LEAF_FORMAT + "\n").encode()


def complete(event: dict[str, Any], record_time: str, reporter: str) -> dict[str, Any]:
    """Add to an event's JSON what the node knows of it (in place): the record it serves."""
    event["recordTime"] = record_time
    event[FIELD_REPORTED_BY] = reporter
    return event


def record_of(doc: bytes, record_time: str, reporter: str) -> dict[str, Any]:
    """The record the API serves for a stored event row."""
    return complete(msgspec.json.decode(doc), record_time, reporter)


def record_digest(record: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(record)).hexdigest()


def _leaf(identity: str, digest: str) -> bytes:
    if "\n" in identity:
        raise ValueError(f"identity {identity!r} contains a newline")
    return _PREFIX + f"{identity}\n{digest}\n".encode()


def event_leaf(identity: str, record: dict[str, Any]) -> bytes:
    """The leaf for an event record (as served, recordTime included)."""
    return _leaf(identity, record_digest(record))


def stored_leaf(identity: str, record_time: str, reporter: str, doc: bytes) -> bytes:
    """The leaf for a stored event row: the same bytes as ``event_leaf`` of its record, made
    without building the record in Python (this runs for every event captured)."""
    members = {"recordTime": record_time, FIELD_REPORTED_BY: reporter}
    return _leaf(identity, hashlib.sha256(canonical_json_bytes(doc, **members)).hexdigest())
