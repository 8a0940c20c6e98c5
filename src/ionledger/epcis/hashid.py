"""The CBV 2.0 EPCIS event hash ID: ``ni:///sha-256;<hex>?ver=CBV2.0``.

The pre-hash string follows the EPCIS Event Hash ID algorithm of CBV 2.0 as its reference
implementation (github.com/RalphTro/epcis-event-hash-generator) computes it; the reference's
test vectors are our oracle:

- fields in the canonical property order, ``key=value`` with no separators, empty ones left out;
- list children (EPCs, quantity elements, sensor reports, ...) sorted as whole strings;
- timestamps in UTC with exactly three decimals (the 4th decimal rounds half up), ``Z``;
- numbers without trailing zeros (``1.0`` -> ``1``), like the reference via ``float``;
- bare CBV terms (``shipping``), CBV 1.x URNs and ``gs1:``/``cbv:``/``epcis:`` CURIEs become
  their web URIs; EPC URNs and GS1 Digital Links become constrained canonical Digital Links;
- user extensions as ``{namespace}localName``: inside readPoint, bizLocation, sensorElement,
  sensorMetadata and sensorReport they follow their parent's own fields; at event level they
  are sorted together with everything else outside the property order (ilmd, bizTransactionList,
  sourceList, destinationList) after the ordered part;
- eventID (also as ``id``), recordTime, errorDeclaration, comments and the document's
  ``ignoreFields`` are left out.

The input is the JSON-LD form of an event (as ``json.loads`` gives it); XML is converted to
that form before it gets here. Extension keys are ``prefix:localName`` with the prefix in the
document's ``@context``.

This module is the public face: the hash IDs of events and documents, and the per-document
context they share. The work is done in :mod:`ionledger.epcis.hashid_prehash` (names, property
order, rendering of one event), :mod:`ionledger.epcis.hashid_canon` (canonical text of single
values) and :mod:`ionledger.epcis.digital_link` (EPC URIs and Digital Links to the constrained
canonical Digital Link, whose conversions are importable from here too).
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping
from typing import Any

from ionledger.epcis.digital_link import (
    digital_link,
    epc_uri_to_digital_link,
    web_uri_to_digital_link,
)
from ionledger.epcis.hashid_canon import scalar_text
from ionledger.epcis.hashid_prehash import Context, json_items, prehash
from ionledger.errors import InvalidDocument

__all__ = [
    "HASH_VERSION",
    "digital_link",
    "document_hash_ids",
    "document_prehash_strings",
    "epc_uri_to_digital_link",
    "event_hash_id",
    "prehash_string",
    "web_uri_to_digital_link",
]

HASH_VERSION = "CBV2.0"

# The EPC URI / Digital Link conversions lived in this module under these names; code that
# imports them from here keeps working.
_digital_link = digital_link
_from_epc_uri = epc_uri_to_digital_link
_from_web_uri = web_uri_to_digital_link


def _snapshot(value: Any) -> Any:
    """A private copy of a JSON value, to notice later changes to the caller's object."""
    if isinstance(value, dict):
        return {key: _snapshot(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_snapshot(item) for item in value]
    return value


# Events arrive one by one with their document's context: keep the last context's prefixes
# and expanded names (one tuple, replaced whole, so threads see a consistent entry).
_last_context: tuple[Any, tuple[str, ...], Context] | None = None


def _context_for(context: Any, ignore: Collection[str]) -> Context:
    global _last_context
    ignored = tuple(ignore)
    last = _last_context
    if last is not None and last[1] == ignored and last[0] == context:
        return last[2]
    ctx = Context(context, ignored)
    _last_context = (_snapshot(context), ignored, ctx)
    return ctx


def prehash_string(
    event: dict[str, Any], context: Any = None, *, ignore: Collection[str] = ()
) -> str:
    """The canonical pre-hash string of one event (JSON-LD form).

    ``context`` is the document's ``@context`` (for extension prefixes); ``ignore`` names
    top-level fields to leave out (a query document's ``ignoreFields``).
    Raises InvalidEvent when the event cannot be hashed (no type, no or a bad eventTime, ...).
    """
    return prehash(event, _context_for(context, ignore), None)


def _hash_id(prehash_text: str) -> str:
    digest = hashlib.sha256(prehash_text.encode()).hexdigest()
    return f"ni:///sha-256;{digest}?ver={HASH_VERSION}"


def event_hash_id(
    event: dict[str, Any], context: Any = None, *, ignore: Collection[str] = ()
) -> str:
    """``ni:///sha-256;<hex>?ver=CBV2.0`` for one event; see ``prehash_string``."""
    return _hash_id(prehash(event, _context_for(context, ignore), None))


def _document_events(document: Any) -> list[Any]:
    """The events of an EPCISDocument or EPCISQueryDocument, in document order."""
    body = document.get("epcisBody") if isinstance(document, dict) else None
    if not isinstance(body, dict):
        raise InvalidDocument("an EPCIS document needs an epcisBody object")
    results = body.get("queryResults")
    if isinstance(results, dict) and isinstance(results.get("resultsBody"), dict):
        body = results["resultsBody"]
    if "eventList" in body:
        return list(json_items(body["eventList"]))
    if "event" in body:
        return list(json_items(body["event"]))
    raise InvalidDocument("the epcisBody has no eventList")


def ignore_fields(document: Mapping[str, Any]) -> list[str]:
    """Field names a document says to leave out of the hash (``<prefix>:ignoreFields``, as in
    the reference's query documents: in queryResults, the header or the document itself); a
    list of names, or the object XML gives (its keys)."""
    places: list[Any] = [document, document.get("epcisHeader"), document.get("epcisBody")]
    if isinstance(places[-1], Mapping):
        places.append(places[-1].get("queryResults"))
    names: list[str] = []
    for place in places:
        if not isinstance(place, Mapping):
            continue
        for key, value in place.items():
            if key == "ignoreFields" or key.endswith((":ignoreFields", "}ignoreFields")):
                for item in json_items(value):
                    names.extend(item if isinstance(item, dict) else [scalar_text(item)])
    return names


def document_prehash_strings(document: dict[str, Any]) -> list[str]:
    """The pre-hash string of each event of the document, in document order."""
    events = _document_events(document)
    ctx = Context(document.get("@context"), ignore_fields(document))
    return [prehash(event, ctx, index) for index, event in enumerate(events)]


def document_hash_ids(document: dict[str, Any]) -> list[str]:
    """One hash ID per event of the document, in document order; uses its ``@context``.

    Raises InvalidDocument when there is no event list, InvalidEvent (with the event's index)
    when an event cannot be hashed.
    """
    return [_hash_id(text) for text in document_prehash_strings(document)]
