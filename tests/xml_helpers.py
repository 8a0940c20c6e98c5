"""Shared helpers of the EPCIS XML tests: GS1's reference data, the XSDs, small documents."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from lxml import etree  # type: ignore[import-untyped]

from conftest import REFDATA, need_refdata
from ionledger.epcis.xml import read_document, read_events
from ionledger.errors import InvalidDocument

Doc = dict[str, Any]

# ---------------------------------------------------------------------------------------------
# Reference data, read once


def gs1() -> Path:
    return need_refdata("epcis", "gs1")


@cache
def _xml_examples(root: Path) -> dict[str, Doc | InvalidDocument]:
    """Every XML example (path relative to XML/) -> its document, or the refusal."""
    out: dict[str, Doc | InvalidDocument] = {}
    for path in sorted((root / "XML").rglob("*.xml")):
        try:
            out[path.relative_to(root / "XML").as_posix()] = read_document(path.read_bytes())
        except InvalidDocument as exc:
            out[path.relative_to(root / "XML").as_posix()] = exc
    return out


def xml_examples() -> dict[str, Doc | InvalidDocument]:
    need_refdata("epcis", "gs1", "XML")
    return _xml_examples(gs1())


def event_documents() -> dict[str, Doc]:
    return {name: doc for name, doc in xml_examples().items() if isinstance(doc, dict)}


@cache
def _schema(path: Path) -> Any:
    # Test only: the official XSD, from the reference data (trusted input, default parser).
    return etree.XMLSchema(etree.parse(str(path)))


def schema(name: str) -> Any:
    return _schema(need_refdata("epcis", "gs1", "XSD", name))


def _optional_schema(name: str = "EPCglobal-epcis-2_0.xsd") -> Any:
    """The XSD if the reference data is here (for tests that do not need it otherwise)."""
    path = REFDATA / "epcis" / "gs1" / "XSD" / name
    return _schema(path) if path.exists() else None


def valid_or_no_xsd(written: bytes, name: str = "EPCglobal-epcis-2_0.xsd") -> bool:
    xsd = _optional_schema(name)
    return xsd is None or bool(xsd.validate(etree.fromstring(written)))


def events_of(document: Doc) -> list[Doc]:
    body = document["epcisBody"]
    if "queryResults" in body:
        body = body["queryResults"]["resultsBody"]
    events: list[Doc] = body["eventList"]
    return events


def as_query_document(document: Doc) -> Doc:
    return {
        "@context": document["@context"],
        "type": "EPCISQueryDocument",
        "schemaVersion": document["schemaVersion"],
        "creationDate": document["creationDate"],
        "epcisBody": {
            "queryResults": {
                "subscriptionID": "sub-1",
                "queryName": "SimpleEventQuery",
                "resultsBody": {"eventList": events_of(document)},
            }
        },
    }


# ---------------------------------------------------------------------------------------------
# Small documents (no reference data needed)

EPCIS_NS = "urn:epcglobal:epcis:xsd:2"


def epcis(events: str, *, namespaces: str = "", prolog: str = "") -> bytes:
    return (
        f'{prolog}<epcis:EPCISDocument xmlns:epcis="{EPCIS_NS}" {namespaces}'
        ' schemaVersion="2.0" creationDate="2024-01-01T00:00:00Z">'
        f"<EPCISBody><EventList>{events}</EventList></EPCISBody></epcis:EPCISDocument>"
    ).encode()


def object_event(inner: str = "", *, attributes: str = "") -> str:
    return (
        f"<ObjectEvent{attributes}><eventTime>2024-01-01T08:00:00+08:00</eventTime>"
        "<eventTimeZoneOffset>+08:00</eventTimeZoneOffset>"
        f"<epcList><epc>urn:epc:id:sgtin:0614141.107346.1</epc></epcList>"
        f"<action>OBSERVE</action>{inner}</ObjectEvent>"
    )


def only_event(data: bytes) -> Doc:
    (event,) = read_events(data)
    return event


def bare_document(events: list[Doc]) -> Doc:
    """An EPCISDocument of ``events``, without an @context."""
    return {
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2024-01-01T00:00:00Z",
        "epcisBody": {"eventList": events},
    }


# An event with user extensions of every shape (elements, attributes, nesting, xsi:nil, a
# default namespace, a standard prefix bound to another IRI, an <extension> wrapper).
EXTENSION_XML = epcis(
    object_event(
        "<readPoint><id>urn:epc:id:sgln:0614141.00001.0</id><ex:dock>7</ex:dock>"
        "<extension><futureField>f</futureField></extension></readPoint>"
        "<sensorElementList><sensorElement>"
        "<sensorMetadata ex:calibrated='2024-01-01'/><sensorReport value='1' bizRules='urn:r'/>"
        "<ex:probe><ex:serial>42</ex:serial></ex:probe></sensorElement></sensorElementList>"
        "<ilmd><cbvmda:lotNumber>LOT1</cbvmda:lotNumber>"
        "<cbvmda:netWeight measurementUnitCode='KGM'>3.5</cbvmda:netWeight></ilmd>"
        "<ex:tag>a</ex:tag><ex:tag>b</ex:tag>"
        "<ex:nested><ex:inner><local>deep</local></ex:inner><ex:empty/>"
        "<ex:none xsi:nil='true'/></ex:nested>"
        "<ex:typed xsi:type='xsd:integer'>10</ex:typed>"
        "<plain xmlns='urn:default:ns'>default namespace</plain>"
        "<gs1:x xmlns:gs1='urn:not:gs1'>clash</gs1:x>"
        "<extension><other:inWrapper>w</other:inWrapper></extension>",
        attributes=" ex:origin='scanner'",
    ),
    namespaces=(
        'xmlns:ex="https://ns.example.com/ext" xmlns:other="urn:other"'
        ' xmlns:cbvmda="urn:epcglobal:cbv:mda"'
        ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
    ),
)
