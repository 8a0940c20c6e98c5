"""EPR records as the log keeps them: one record per operation, beside the EPCIS events and the
registry records (``events.event_type`` tells them apart; EPCIS queries leave them out)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

import msgspec

EPR_RECORD_TYPE = "EprRecord"  # events.event_type of EPR records (not EPCIS)
EPR_ID_PREFIX = "urn:ionledger:epr:"  # + the operation ID: the record's identity (unique)
KINDS = ("issue", "transfer", "surrender")
OP_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


@dataclass(frozen=True, slots=True)
class EprRecord:
    """One operation: its kind, its operation ID, the digest of the request that made it (for
    idempotent retries) and the operation in full (``data``)."""

    kind: str
    op_id: str
    digest: str
    data: dict[str, Any]


def digest_of(kind: str, actor: str, request: dict[str, Any]) -> str:
    """What identifies a request: the same operation ID with another digest is another one."""
    canonical = msgspec.json.encode({"kind": kind, "actor": actor, "request": request},
                                    order="sorted")  # fmt: skip
    return hashlib.sha256(canonical).hexdigest()


def record_doc(record: EprRecord, when: str) -> bytes:
    doc = {
        "type": EPR_RECORD_TYPE,
        "op": record.kind,
        "opId": record.op_id,
        "digest": record.digest,
        "data": record.data,
        "eventTime": when,
    }
    return msgspec.json.encode(doc, order="sorted")


def record_of(doc: bytes) -> EprRecord:
    """Decode a stored record (raises ValueError if it is not one)."""
    try:
        raw = msgspec.json.decode(doc)
        record = EprRecord(raw["op"], raw["opId"], raw["digest"], raw["data"])
    except (msgspec.DecodeError, KeyError, TypeError) as exc:
        raise ValueError(f"not an EPR record: {exc}") from None
    if record.kind not in KINDS or not isinstance(record.data, dict):
        raise ValueError(f"not an EPR record: op {record.kind!r}")
    return record
