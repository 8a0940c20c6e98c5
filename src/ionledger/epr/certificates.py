"""EPR certificates as a service: issue, transfer and surrender (each one record in the log,
checked and applied in one transaction under the store's writer lock), their replay on
``rebuild``, and the reads.

Every operation has an operation ID (the client's, or one made here). Retrying an operation
with its ID returns the first outcome and changes nothing; the ID reused for anything else is
refused (``epr.replay-conflict``).
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from typing import Any, cast

from ionledger.epcis.times import now_key
from ionledger.epr import validation as v
from ionledger.epr.operations import CHECKS, EprState, plan_issue
from ionledger.epr.projection import EprDelta, OperationRow
from ionledger.epr.records import (
    EPR_ID_PREFIX,
    EPR_RECORD_TYPE,
    EprRecord,
    digest_of,
    record_doc,
    record_of,
)
from ionledger.epr.rules import EprConflict, EprViolation
from ionledger.errors import Forbidden, IntegrityError, StoreError
from ionledger.governance.access import Principal
from ionledger.governance.engine import Governor
from ionledger.governance.registry import REGULATORS
from ionledger.services.log import Checkpointer
from ionledger.store.port import EventStore, PreparedEvent, StoredEvent, Writer
from ionledger.store.sql_epr import EprRows, EprWrites


@dataclass(frozen=True, slots=True)
class Outcome:
    op_id: str
    kind: str
    seq: int  # the operation's record in the log
    certificate: str
    replayed: bool  # a retry: the first outcome, nothing changed

    def view(self) -> dict[str, Any]:
        return {"opId": self.op_id, "op": self.kind, "recordSeq": self.seq,
                "certificate": self.certificate, "replayed": self.replayed}  # fmt: skip


def certificate_id(op_id: str) -> str:
    """An issued certificate's ID, derived from its operation ID (so a retry names the same)."""
    return "EPRC-" + hashlib.sha256(op_id.encode()).hexdigest()[:20].upper()


def _state(writer: Writer) -> EprState:
    if not isinstance(writer, EprWrites):
        raise StoreError(f"{type(writer).__name__} keeps no EPR certificates")
    return cast(EprState, writer)


def _rows(store: EventStore) -> EprRows:
    if not isinstance(store, EprRows):
        raise StoreError(f"{type(store).__name__} keeps no EPR certificates")
    return store


def _acting_for(principal: Principal, party: str, what: str) -> None:
    """Only ``party``'s own credential (capture scope), or an admin, may do this."""
    principal.require("capture")
    if principal.enterprise != party and "admin" not in principal.scopes:
        raise Forbidden(
            f"{principal.label} may not {what} for {party}: only {party}'s own credential may",
            rule="access.epr-own-account",
        )


def issue(
    store: EventStore,
    request: dict[str, Any],
    *,
    principal: Principal,
    checkpointer: Checkpointer | None = None,
) -> Outcome:
    """Issue a certificate: ``issuer``, ``category``, ``grams``, ``sources`` (event seqs),
    optionally ``year`` and ``opId``."""
    v.only(request, {"issuer", "category", "grams", "sources", "year", "opId"})
    issuer = v.text(request, "issuer")
    _acting_for(principal, issuer, "issue certificates")
    op_id = v.op_id(request.get("opId")) or uuid.uuid4().hex
    body = {k: val for k, val in request.items() if k != "opId"}

    def build(state: EprState, governor: Governor, writer: Writer, seq: int) -> dict[str, Any]:
        return plan_issue(state, governor.registry(writer), body, seq, certificate_id(op_id))

    return _execute(store, "issue", op_id, principal.label, body, build, checkpointer)


def transfer(
    store: EventStore,
    request: dict[str, Any],
    *,
    principal: Principal,
    checkpointer: Checkpointer | None = None,
) -> Outcome:
    """Move ``grams`` of ``certificate`` from ``from`` (default: the caller) to ``to``."""
    v.only(request, {"certificate", "from", "to", "grams", "opId"})
    body = {k: val for k, val in request.items() if k != "opId"}
    body.setdefault("from", principal.enterprise)
    _acting_for(principal, v.text(body, "from"), "transfer certificates")
    op_id = v.op_id(request.get("opId")) or uuid.uuid4().hex
    return _execute(store, "transfer", op_id, principal.label, body, _as_is(body), checkpointer)


def surrender(
    store: EventStore,
    request: dict[str, Any],
    *,
    principal: Principal,
    checkpointer: Checkpointer | None = None,
) -> Outcome:
    """Surrender ``grams`` of ``certificate`` held by ``holder`` (default: the caller) against
    its obligation for ``year``."""
    v.only(request, {"certificate", "holder", "year", "grams", "opId"})
    body = {k: val for k, val in request.items() if k != "opId"}
    body.setdefault("holder", principal.enterprise)
    _acting_for(principal, v.text(body, "holder"), "surrender certificates")
    op_id = v.op_id(request.get("opId")) or uuid.uuid4().hex
    return _execute(store, "surrender", op_id, principal.label, body, _as_is(body), checkpointer)


def _as_is(body: dict[str, Any]) -> Any:
    def build(_state: EprState, _g: Governor, _w: Writer, _seq: int) -> dict[str, Any]:
        return body

    return build


def _execute(
    store: EventStore,
    kind: str,
    op_id: str,
    actor: str,
    body: dict[str, Any],
    build: Any,
    checkpointer: Checkpointer | None,
) -> Outcome:
    digest = digest_of(kind, actor, body)
    governor = Governor()
    with store.writer() as writer:
        state = _state(writer)
        prior = cast(EprWrites, writer).epr_operation(op_id)
        if prior is not None:
            if prior.kind == kind and prior.digest == digest:
                return Outcome(op_id, kind, prior.seq, prior.result, replayed=True)
            raise EprConflict(
                "epr.replay-conflict",
                f"operation ID {op_id} was used for another operation (record {prior.seq})",
            )
        seq = writer.next_seq
        data = build(state, governor, writer, seq)
        delta = CHECKS[kind](state, governor.registry(writer), data, seq)
        record = EprRecord(kind, op_id, digest, data)
        _apply(writer, delta, record, seq)
        when = now_key()
        writer.append([PreparedEvent(EPR_ID_PREFIX + op_id, None, EPR_RECORD_TYPE, when, actor,
                                     None, record_doc(record, when))], when)  # fmt: skip
        if checkpointer is not None:
            checkpointer.now(writer)
        writer.commit()
    return Outcome(op_id, kind, seq, delta.operation.result, replayed=False)


def _apply(writer: Writer, delta: EprDelta, record: EprRecord, seq: int) -> None:
    delta.operation = OperationRow(
        record.op_id, record.kind, record.digest, seq, delta.operation.result
    )
    cast(EprWrites, writer).apply_epr(delta)


def replay_record(writer: Writer, governor: Governor, event: StoredEvent) -> None:
    """Re-apply an EPR record on ``rebuild``: checked again against the projection as the
    records before it left it (it held when it was made, so it holds now)."""
    try:
        record = record_of(event.doc)
    except ValueError as exc:
        raise IntegrityError(str(exc), where=f"seq {event.seq}") from None
    state = _state(writer)
    if cast(EprWrites, writer).epr_operation(record.op_id) is not None:
        raise IntegrityError(f"operation ID {record.op_id} twice", where=f"seq {event.seq}")
    try:
        delta = CHECKS[record.kind](state, governor.registry(writer), record.data, event.seq)
    except EprViolation as exc:
        raise IntegrityError(f"EPR record fails: {exc.message}", where=f"seq {event.seq}") from None
    _apply(writer, delta, record, event.seq)


# -- reads ---------------------------------------------------------------------------------------
def sees_all(principal: Principal) -> bool:
    return principal.reads_everything or bool(principal.roles & REGULATORS)


def _reader(principal: Principal) -> str | None:
    """The enterprise whose accounts the principal reads; None: every account."""
    principal.require("read")
    return None if sees_all(principal) else principal.enterprise


def holdings(
    store: EventStore, principal: Principal, *, holder: str | None = None
) -> list[dict[str, Any]]:
    """Balances per certificate and holder: one's own, or (regulators) anyone's."""
    own = _reader(principal)
    if own is not None and holder not in (None, own):
        raise Forbidden(f"{own} may read only its own holdings", rule="access.epr-own-account")
    rows = _rows(store)
    certs = {c.id: c for c in rows.epr_certificates()}
    out = []
    for h in rows.epr_holdings(own or holder):
        c = certs[h.certificate]
        out.append({"certificate": h.certificate, "holder": h.holder, "grams": h.grams,
                    "category": c.category, "year": c.year, "issuer": c.issuer})  # fmt: skip
    return out


def certificates(store: EventStore, principal: Principal) -> list[dict[str, Any]]:
    """Certificates with their sources, holdings and surrenders. An enterprise sees those it
    issued, holds or surrendered, with only its own balances; regulators see everything."""
    own = _reader(principal)
    rows = _rows(store)
    holds = rows.epr_holdings()
    gone = rows.epr_surrendered()
    certs = rows.epr_certificates()
    if own is not None:
        mine = {h.certificate for h in holds if h.holder == own}
        mine |= {s.certificate for s in gone if s.producer == own}
        certs = [c for c in certs if c.issuer == own or c.id in mine]
        holds = [h for h in holds if h.holder == own]
        gone = [s for s in gone if s.producer == own]
    sources: dict[str, list[dict[str, int]]] = {}
    for cert, seq, grams in rows.epr_allocations([c.id for c in certs]):
        sources.setdefault(cert, []).append({"seq": seq, "grams": grams})
    return [
        {
            "id": c.id, "issuer": c.issuer, "category": c.category, "year": c.year,
            "grams": c.grams, "recordSeq": c.seq, "sources": sources.get(c.id, []),
            "holdings": [{"holder": h.holder, "grams": h.grams}
                         for h in holds if h.certificate == c.id],
            "surrendered": [{"producer": s.producer, "year": s.year, "grams": s.grams}
                            for s in gone if s.certificate == c.id],
        }
        for c in certs
    ]  # fmt: skip


def audit(store: EventStore) -> list[str]:
    """Breaches of the invariants, or none: per certificate, holdings + surrendered = issued =
    its allocation; per source, certified = the certificates' allocations <= its mass."""
    rows = _rows(store)
    problems: list[str] = []
    held: dict[str, int] = {}
    for h in rows.epr_holdings():
        held[h.certificate] = held.get(h.certificate, 0) + h.grams
    for gone in rows.epr_surrendered():
        held[gone.certificate] = held.get(gone.certificate, 0) + gone.grams
    allocated: dict[str, int] = {}
    per_source: dict[int, int] = {}
    for cert, seq, grams in rows.epr_allocations():
        allocated[cert] = allocated.get(cert, 0) + grams
        per_source[seq] = per_source.get(seq, 0) + grams
    for c in rows.epr_certificates():
        if held.pop(c.id, 0) != c.grams or allocated.get(c.id) != c.grams:
            problems.append(f"certificate {c.id}: issued {c.grams} g, held + surrendered"
                            f" or allocated differ")  # fmt: skip
    problems += [f"grams held of unknown certificate {c}" for c in held]
    for s in rows.epr_sources():
        if s.certified_grams != per_source.pop(s.seq, 0) or s.certified_grams > s.mass_grams:
            problems.append(f"source {s.seq}: certified {s.certified_grams} g of {s.mass_grams} g")
    problems += [f"allocation from untracked source {seq}" for seq in per_source]
    return problems
