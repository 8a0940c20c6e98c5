"""Whole EPCIS 2.0 documents in either syntax: detect, read into the JSON-LD form, write back.

The JSON-LD dict (what ``json.loads`` gives for a JSON-LD document) is the one internal form;
XML is converted to and from it by ``ionledger.epcis.xml``.
"""

from __future__ import annotations

from typing import Any

import msgspec

from ionledger.errors import InvalidDocument

EVENT_DOCUMENTS = ("EPCISDocument", "EPCISQueryDocument")
STANDARD_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
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
        from ionledger.epcis.xml import read_document as read_xml

        return read_xml(data)
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


def write_json(document: dict[str, Any]) -> bytes:
    return msgspec.json.format(msgspec.json.encode(document), indent=2) + b"\n"


def write_xml(document: dict[str, Any]) -> bytes:
    from ionledger.epcis.xml import write_document

    return write_document(document)
