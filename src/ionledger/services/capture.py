"""One event through the capture pipeline: decode, check, normalise identifiers, prepare to store.

Everything here is per event and pure; the importer does the batching and the writing.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec

from ionledger.domain.gbt34014 import CODE_PATTERN, VALID_DATES, is_valid_code
from ionledger.domain.identity import GRAI_LINK_PREFIX, SGTIN_LINK_PREFIX, canonical_id
from ionledger.domain.vocabulary import (
    FIELD_DECLARED_AT,
    GBT_URN_PREFIX,
    bare_biz_step,
    stage_of,
)
from ionledger.epcis.checks import event_errors, event_warnings
from ionledger.epcis.codec import decode_event
from ionledger.epcis.hashid import event_hash_id
from ionledger.epcis.hashid import ignore_fields as hashid_ignore_fields
from ionledger.epcis.lenient import Tolerated, normalise_event
from ionledger.epcis.model import (
    AggregationEvent,
    AssociationEvent,
    Event,
    ObjectEvent,
    TransactionEvent,
    TransformationEvent,
)
from ionledger.epcis.times import utc_key
from ionledger.errors import InvalidEvent, InvalidIdentifier
from ionledger.services.projector import EventFacts
from ionledger.store.port import PreparedEvent, StoredEvent

_CBV1_URN = b"urn:epcglobal:cbv:"  # CBV 1.x URN forms, which lenient capture rewrites
_KINDS = {"P": "pack", "M": "module", "C": "cell"}
_GBT_PREFIX_LEN = len(GBT_URN_PREFIX)
_GBT_URN_LIST = re.compile(f"(?:{re.escape(GBT_URN_PREFIX)}{CODE_PATTERN}\n)+")


@dataclass(slots=True)
class Accepted:
    index: int
    prepared: PreparedEvent
    facts: EventFacts
    warnings: list[Tolerated] = field(default_factory=list)  # what lenient capture normalised


class _Ids:
    """Canonicalises the identifiers of one event, remembering which are batteries."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.kinds: dict[str, tuple[str, str | None]] = {}
        self.mentioned: dict[str, None] = {}
        self.errors: list[InvalidEvent] = []

    def one(self, uri: str | None, field: str) -> str | None:
        if uri is None:
            return None
        if uri.startswith(GBT_URN_PREFIX):  # fast path: nearly every ID ionledger sees
            code = uri[_GBT_PREFIX_LEN:]
            if is_valid_code(code):
                self.kinds[code] = (_KINDS[code[3]], code[:3])
                self.mentioned[code] = None
                return code
        try:
            cid = canonical_id(uri)
        except InvalidIdentifier as exc:
            self.errors.append(InvalidEvent(exc.message, index=self.index, field=field))
            return None
        if len(cid) == 24 and ":" not in cid:  # a bare GB/T 34014 code, validated
            self.kinds[cid] = (_KINDS[cid[3]], cid[:3])
        elif cid.startswith((SGTIN_LINK_PREFIX, GRAI_LINK_PREFIX)):
            # A GS1-keyed battery; its Digital Link does not say where the company prefix ends.
            self.kinds[cid] = ("item", None)
        self.mentioned[cid] = None
        return cid

    def many(self, uris: list[str] | None, field: str) -> list[str]:
        if not uris:
            return []
        if _GBT_URN_LIST.fullmatch("\n".join(uris) + "\n"):
            # Fast path: a list of GB/T URNs (a module's cells), checked by one regex call.
            codes = [uri[_GBT_PREFIX_LEN:] for uri in uris]
            if all(code[14:17] in VALID_DATES for code in codes):
                kinds = self.kinds
                for code in codes:
                    kinds[code] = (_KINDS[code[3]], code[:3])
                self.mentioned.update(dict.fromkeys(codes))
                return codes
        out: list[str] = []
        for i, uri in enumerate(uris):
            cid = self.one(uri, f"{field}[{i}]")
            if cid is not None:
                out.append(cid)
        return out


def facts_of(
    event: Event, index: int, *, event_time: str, reporter: str
) -> tuple[EventFacts, list[InvalidEvent]]:
    ids = _Ids(index)
    action = getattr(event, "action", None)
    facts = EventFacts(
        event_type=type(event).__name__,
        event_time=event_time,
        reporter=reporter,
        stage=stage_of(event.biz_step, action),
        action=action,
    )
    if isinstance(event, ObjectEvent | TransactionEvent):
        facts.epcs = ids.many(event.epc_list, "epcList")
    if isinstance(event, AggregationEvent | AssociationEvent | TransactionEvent):
        facts.parent = ids.one(event.parent_id, "parentID")
    if isinstance(event, AggregationEvent | AssociationEvent):
        facts.children = ids.many(event.child_epcs, "childEPCs")
    if isinstance(event, TransformationEvent):
        facts.inputs = ids.many(event.input_epc_list, "inputEPCList")
        facts.outputs = ids.many(event.output_epc_list, "outputEPCList")
    if isinstance(event, ObjectEvent | TransformationEvent) and event.ilmd:
        facts.ilmd = event.ilmd
    for element in event.sensor_element_list or ():
        for report in element.sensor_report:
            if report.value is not None and report.type is not None:  # untyped: not a measure
                facts.measurements.append((report.type, float(report.value), report.uom))
    facts.province = event.province  # checked by event_errors
    _governance_facts(event, facts)
    facts.battery_kinds = ids.kinds
    facts.mentioned = ids.mentioned
    return facts, ids.errors


def _governance_facts(event: Event, facts: EventFacts) -> None:
    """What the governance rules read beyond the projections' facts."""
    facts.offset = event.event_time_zone_offset
    declared = event.extension(FIELD_DECLARED_AT) if FIELD_DECLARED_AT in event.extensions else None
    if isinstance(declared, str):
        try:
            facts.declared_at = utc_key(declared)
        except ValueError:
            facts.declared_at = None  # not a time: the deadline is measured at record time
    if event.destination_list:
        # Owning party before location: the party names who receives.
        ordered = sorted(event.destination_list, key=lambda d: not d.type.endswith("owning_party"))
        facts.destinations = [d.destination for d in ordered]
    if isinstance(event, TransformationEvent) and event.output_quantity_list:
        facts.outputs_kg = [
            (q.epc_class, float(q.quantity))
            for q in event.output_quantity_list
            if q.quantity is not None and q.uom == "KGM"
        ]


def duplicate_in_document(identity: str, earlier: int | None, index: int) -> InvalidEvent:
    """The error for an event whose identity an earlier event of the same document gave
    (``earlier`` its index, None when it was in an earlier, already written batch)."""
    where = f"event {earlier}" if earlier is not None else "an earlier event"
    return InvalidEvent(
        f"duplicate event identity {identity!r}: already given by {where} of this document",
        index=index,
        field="eventID",
    )


def _tolerant(raw: bytes, index: int) -> tuple[bytes, list[Tolerated]]:
    """The event with what lenient capture normalises (numbers sent as strings, CBV 1.x URNs),
    and a warning for each change; the bytes unchanged when there is nothing to tolerate."""
    try:
        event = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        return raw, []  # malformed: decode_event reports it
    if not isinstance(event, dict):
        return raw, []
    normalised, tolerated = normalise_event(event, index)
    if not tolerated:
        return raw, []
    return msgspec.json.encode(normalised), tolerated


def ignore_fields(document: Mapping[str, Any] | None) -> tuple[str, ...]:
    """The fields a document says to leave out of its events' hash IDs, found exactly where
    ``ionledger hash`` finds them (:func:`ionledger.epcis.hashid.ignore_fields`), so that a
    captured event's identity is the hash ID it prints. ``document`` may be a streamed
    document's header members alone: members it lacks are not looked in."""
    return tuple(hashid_ignore_fields(document)) if document is not None else ()


def accept(
    raw: bytes,
    index: int,
    *,
    default_reporter: str,
    context: Any = None,
    ignore: Collection[str] = (),
) -> Accepted | list[InvalidEvent]:
    """The prepared event, or every error found in it. ``context`` is the document's @context
    (it names the namespaces the CBV 2.0 hash ID expands extension fields with); ``ignore``
    the fields its hash ID leaves out (:func:`ignore_fields` of the document)."""
    # Lenient capture normalises once, and only when needed: for CBV 1.x URNs (a cheap byte
    # test) or when the strict decode fails; a strict error it gets past is kept to report
    # first, should the normalised event still fail.
    event: Event | None = None
    rescued: InvalidEvent | None = None
    if _CBV1_URN not in raw:
        try:
            event = decode_event(raw, index)
        except InvalidEvent as exc:
            rescued = exc
    warnings: list[Tolerated] = []
    if event is None:
        raw, warnings = _tolerant(raw, index)
        try:
            event = decode_event(raw, index)
        except InvalidEvent as exc:
            return [rescued or exc]  # normalising did not rescue it: report what was sent
    errors = event_errors(event, index, size=len(raw))
    for field_name, message in event_warnings(event):
        warnings.append(Tolerated(f"/{field_name}", "tolerated", f"{message}; kept", index))
    if not errors:
        assert event.event_time is not None  # event_errors guarantees it
        reporter = event.reported_by or default_reporter  # a blank one is refused by the checks
        facts, errors = facts_of(
            event, index, event_time=utc_key(event.event_time), reporter=reporter
        )
    if errors:
        # A normalised event that still fails is reported as sent: the strict error first.
        return ([rescued] if rescued is not None else []) + errors
    hash_id = None
    if event.event_id is None:  # the CBV 2.0 event hash ID is its identity
        try:
            hash_id = event_hash_id(msgspec.json.decode(raw), context, ignore=ignore)
        except InvalidEvent as exc:
            return [InvalidEvent(exc.reason, index=index, field=exc.field)]
    identity = event.event_id or hash_id or ""
    if event.error_declaration is not None:
        # An error declaration repeats the event it retracts, eventID included (EPCIS 2.0's
        # error declarations): it is a record of its own, keyed by what it retracts and when.
        identity += f"#errorDeclaration@{utc_key(event.error_declaration.declaration_time)}"
    prepared = PreparedEvent(
        identity=identity,
        hash_id=hash_id,
        event_type=facts.event_type,
        event_time=facts.event_time,
        reporter=reporter,
        biz_step=bare_biz_step(event.biz_step),
        doc=msgspec.json.format(raw, indent=-1),
    )
    return Accepted(index, prepared, facts, warnings)


def facts_of_stored(stored: StoredEvent) -> EventFacts:
    """Facts of an event already in the store (it was checked when it was accepted)."""
    event = decode_event(stored.doc, stored.seq)
    facts, _ = facts_of(event, stored.seq, event_time=stored.event_time, reporter=stored.reporter)
    return facts
