"""Whole EPCIS 2.0 documents in either syntax: detect, read into the JSON-LD form, write back.

The JSON-LD dict (what ``json.loads`` gives for a JSON-LD document) is the one internal form;
XML is converted to and from it by ``ionledger.epcis.xml``.
"""

from __future__ import annotations

from typing import Any

import msgspec

from ionledger.domain.vocabulary import ION_NAMESPACE
from ionledger.epcis.times import now_key
from ionledger.errors import InvalidDocument

EVENT_DOCUMENTS = ("EPCISDocument", "EPCISQueryDocument")
STANDARD_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
# What the node serves: records carry ion: terms (recordTime aside, ion:reportedBy).
QUERY_CONTEXT = [STANDARD_CONTEXT, {"ion": ION_NAMESPACE}]
# Documents that are EPCIS but carry no events: recognised and named, not crashed on.
OTHER_DOCUMENTS = {
    "EPCISMasterDataDocument": "an EPCIS master-data document",
}


def is_xml(data: bytes) -> bool:
    """Whether the bytes are XML (first non-blank character '<', after any UTF-8 BOM)."""
    head = data[:1024].lstrip(b"\xef\xbb\xbf").lstrip()
    return head.startswith(b"<")


def read_document(data: bytes) -> dict[str, Any]:
    """An event document (JSON-LD or XML) as the JSON-LD dict; other documents are refused
    with InvalidDocument saying what they are."""
    if is_xml(data):
        from ionledger.epcis.checks import type_xml_ilmd
        from ionledger.epcis.xml import read_document as read_xml

        document = read_xml(data)
        events = events_of(document)
        events[:] = [type_xml_ilmd(e) for e in events]  # XML text: our numeric terms typed
        return document
    try:
        document = msgspec.json.decode(data)
    except msgspec.DecodeError as exc:
        raise InvalidDocument(f"not JSON or XML: {exc}") from None
    if not isinstance(document, dict):
        raise InvalidDocument(f"a JSON {type(document).__name__}, not an EPCIS document object")
    kind = document.get("type")
    if kind not in EVENT_DOCUMENTS:
        if isinstance(kind, str) and kind in OTHER_DOCUMENTS:
            raise InvalidDocument(f"{OTHER_DOCUMENTS[kind]} ({kind}), not an event document")
        raise InvalidDocument(
            f"document type {kind!r} is not an event document (expected one of"
            f" {', '.join(EVENT_DOCUMENTS)})"
        )
    return document


def events_of(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The event list of an EPCISDocument or EPCISQueryDocument (empty when it has none)."""
    body = document.get("epcisBody")
    if not isinstance(body, dict):
        return []
    if document.get("type") == "EPCISQueryDocument":
        results = body.get("queryResults")
        body = results.get("resultsBody") if isinstance(results, dict) else None
        if not isinstance(body, dict):
            return []
    events = body.get("eventList")
    return events if isinstance(events, list) else []


def event_document(
    events: list[dict[str, Any]], *, context: Any = None, creation_date: str | None = None
) -> dict[str, Any]:
    """An EPCISDocument holding ``events`` (the JSON-LD form)."""
    document: dict[str, Any] = {
        "@context": context if context is not None else [STANDARD_CONTEXT],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": creation_date or "1970-01-01T00:00:00Z",
        "epcisBody": {"eventList": events},
    }
    return document


def query_document(
    records: list[dict[str, Any]],
    *,
    query_name: str = "SimpleEventQuery",
    subscription_id: str | None = None,
) -> dict[str, Any]:
    """The EPCISQueryDocument the REST binding answers queries (and subscriptions) with."""
    results: dict[str, Any] = {}
    if subscription_id is not None:
        results["subscriptionID"] = subscription_id
    results["queryName"] = query_name
    results["resultsBody"] = {"eventList": records}
    return {
        "@context": QUERY_CONTEXT,
        "type": "EPCISQueryDocument",
        "schemaVersion": "2.0",
        "creationDate": now_key(),
        "epcisBody": {"queryResults": results},
    }


def write_json(document: dict[str, Any]) -> bytes:
    return msgspec.json.format(msgspec.json.encode(document), indent=2) + b"\n"


def write_xml(document: dict[str, Any]) -> bytes:
    from ionledger.epcis.xml import write_document

    return write_document(document)
