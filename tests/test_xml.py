"""EPCIS XML <-> JSON-LD: GS1's examples, their JSON twins, the XSD, EPCIS 1.x, hostile input."""

from __future__ import annotations

import datetime
import json
import random
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree  # type: ignore[import-untyped]

from conftest import REFDATA, need_refdata
from ionledger.epcis import xml
from ionledger.epcis.hashid import document_hash_ids, event_hash_id
from ionledger.epcis.xml import (
    DOCTYPE_REFUSED,
    STANDARD_CONTEXT,
    read_document,
    read_events,
    write_document,
)
from ionledger.errors import InvalidDocument

Doc = dict[str, Any]

# Non-event XML examples and the kind each must be recognised as (the message names it).
NON_EVENT_EXAMPLES = {
    "CBV/CBV-11.4-2020-06-16a.xml": "an EPCIS master-data document (EPCISMasterDataDocument)",
    "CaptureJob/Example-CaptureJobRunning.xml": (
        "an EPCIS capture-job status document (EPCISCaptureJob)"
    ),
    "CaptureJob/Example-CaptureJobWithErrorFile.xml": (
        "an EPCIS capture-job status document (EPCISCaptureJob)"
    ),
}


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
# GS1's XML examples


def test_every_xml_example_is_an_event_document_or_a_recognised_other_kind() -> None:
    examples = xml_examples()
    events = [name for name, doc in examples.items() if isinstance(doc, dict)]
    recognised = {
        name: doc.message
        for name, doc in examples.items()
        if isinstance(doc, InvalidDocument) and doc.message.endswith(", not an event document")
    }
    failures = {
        name: doc.message
        for name, doc in examples.items()
        if isinstance(doc, InvalidDocument) and name not in recognised
    }
    print(
        f"\nXML examples: {len(events)} event documents, {len(recognised)} non-event recognised,"
        f" total {len(examples)}"
    )
    assert failures == {}
    assert recognised == {
        name: f"{kind}, not an event document" for name, kind in NON_EVENT_EXAMPLES.items()
    }
    # Mimasu's examples are event documents (ObjectEvent etc.), not master data.
    assert all(name in events for name in examples if name.startswith("Mimasu/"))
    assert sum(len(events_of(doc)) for doc in event_documents().values()) > 50


def test_read_write_read_gives_the_same_document() -> None:
    for name, document in event_documents().items():
        written = write_document(document)
        assert written.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n'), name
        again = read_document(written)
        assert again == document, name
        assert write_document(again) == written, name  # the writer is deterministic


def test_written_xml_validates_against_the_official_xsd() -> None:
    event_schema = schema("EPCglobal-epcis-2_0.xsd")
    query_schema = schema("EPCglobal-epcis-query-2_0.xsd")
    failures: dict[str, str] = {}
    documents = event_documents()
    for name, document in documents.items():
        for kind, doc, xsd in (
            ("document", document, event_schema),
            ("query", as_query_document(document), query_schema),
        ):
            written = write_document(doc)
            if not xsd.validate(etree.fromstring(written)):
                failures[f"{name} ({kind})"] = str(xsd.error_log.last_error)
            elif kind == "query":
                assert events_of(read_document(written)) == events_of(document), name
    total = 2 * len(documents)
    print(f"\nXSD validation of written XML: {total - len(failures)}/{total} passed")
    assert failures == {}


def test_read_events_is_the_event_list() -> None:
    for name, document in event_documents().items():
        path = gs1() / "XML" / name
        assert read_events(path.read_bytes()) == events_of(document)


# ---------------------------------------------------------------------------------------------
# JSON twins: the same events in GS1's JSON-LD files
#
# Pairs: an XML event and a JSON event (in JSON/ or JSON-simple-context/) are twins when they
# have the same eventID and type, or come from files with the same basename at the same
# position, or (GS1's twins are mostly named differently and lack eventIDs in XML) have the
# same type, eventTime instant, what-dimension (EPC/quantity lists, parentID, action,
# bizTransactionList), presence of an errorDeclaration and sensor element/report counts.
#
# Normalisation before comparing (GS1 conventions; none hides data both sides carry):
# - key order is irrelevant (dicts);
# - extension keys are compared as {namespace}local, prefixes resolved through each file's
#   @context (plus the standard context's cbvmda/gs1/cbv/rdfs), a namespace's trailing '/' or
#   '#' ignored: GS1's JSON appends '/' to the XML namespace ("http://ns.example.com/epcis/");
# - dateTimes are compared as instants: the JSON twins often restate them in UTC;
# - numbers as numbers (25.0 == 25); hexBinary case-insensitively (F0F0F0 == f0f0f0);
# - sensor ``type`` "gs1:X" == "X" and ``component`` "cbv:Comp-x" == "x": the same IRI;
# - an ``eventID`` only in the JSON twin is ignored: GS1 added hash IDs to the JSON files; the
#   JSON-LD alias ``id`` (used by some twins) counts as ``eventID``.

TIME_KEYS = {"eventTime", "recordTime", "declarationTime", "time", "startTime", "endTime"}
STANDARD_PREFIXES = {
    "cbvmda": "urn:epcglobal:cbv:mda",
    "gs1": "https://gs1.org/voc/",
    "cbv": "https://ref.gs1.org/cbv/",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
}
WHAT = (
    "epcList", "childEPCs", "parentID", "inputEPCList", "outputEPCList", "quantityList",
    "childQuantityList", "inputQuantityList", "outputQuantityList", "action",
    "bizTransactionList",
)  # fmt: skip

# Genuine differences between GS1's own XML examples and their JSON twins, by XML event.
GENUINE_TWIN_DIFFERENCES = {
    # JSON AssociationEvent-g cites its corrective event by hash ID, the XML by urn:uuid.
    ("AssociationEvent/AssociationEventExamples.xml", 6): "correctiveEventIDs differ",
    ("Mimasu/Example-associatonEvent-sensor.xml", 6): "correctiveEventIDs differ",
    # rail:vehicleUniquelyIdentified is JSON true vs XML text "true" (XML extensions are
    # untyped; GS1's JSON context types it); the XML's empty rail:vehicleMasterGIAI is absent in
    # JSON; JSON-simple-context gives sourceList/destinationList as objects, not lists.
    ("Example-TransactionEvent-2020_07_03y.xml", 1): "typed/omitted rail extensions",
    # XML: inputQuantityList quantity xsi:nil and readPoint sgln 4012345.00000.0; JSON: 500 KGM
    # and readPoint sgln 0614141.07346.1234.
    ("WithErrorDeclaration/ErrorDeclarationAndCorrectiveEvent.xml", 0): "quantity, readPoint",
    ("WithErrorDeclaration/ErrorDeclarationAndCorrectiveEvent.xml", 1): "quantity, readPoint",
    # The WithExtension XML variants add user extensions (example:extension, example:myField)
    # to spec examples whose JSON twins have none; the TransactionEvent's sensor type is
    # EffectiveDoseRate in XML, DoseEquivalentRate in JSON.
    ("WithExtension/AggregationEvent.xml", 0): "extensions only in XML",
    ("WithExtension/AssociationEvent.xml", 0): "extensions only in XML",
    ("WithExtension/TransactionEvent.xml", 0): "extensions only in XML; sensor type",
    # Twin of SensorDataExample12 (as case 12 below), but with http://ns.example.com/epcis-N
    # namespaces where the JSON has https://ns.exampleN.com/epcis.
    ("WithExtension/TransformationEvent.xml", 0): "namespaces, extensions",
    # The JSON "all possible fields" files add eventID, certificationInfo, errorDeclaration,
    # ilmd and persistentDisposition content, nest the ext1/ext2/ext3 extensions differently,
    # drop the cbvmda measurementUnitCode attributes, and use other eventTime/action values.
    ("WithFullCombinationOfFields/aggregation_event_all_possible_fields.xml", 0): "more in JSON",
    ("WithFullCombinationOfFields/object_event_all_possible_fields.xml", 0): "more in JSON",
    ("WithFullCombinationOfFields/transaction_event_all_possible_fields.xml", 0): "more in JSON",
    ("WithFullCombinationOfFields/transformation_event_all_possible_fields.xml", 0): "JSON",
    # Case 10: XML component example:x/y/z, JSON the CBV terms x/y/z plus ex:feature.
    ("WithSensorData/SensorDataExamples.xml", 9): "component, ex:feature",
    # Case 11: sensor type EffectiveDoseRate (XML) vs DoseEquivalentRate (JSON).
    ("WithSensorData/SensorDataExamples.xml", 10): "sensor type",
    # Case 12: JSON drops the readPoint/bizLocation gs1ES extensions and rewrites the
    # errorDeclaration's example:field ("foo bar" for an attribute-only element).
    ("WithSensorData/SensorDataExamples.xml", 11): "extensions differ",
    # Case 14: the XML's bizStep is the mis-cased Web URI ".../cbv/Bizstep-sensor_reporting"
    # (kept, as any non-URN value), the JSON's the CBV term sensor_reporting.
    ("WithSensorData/SensorDataExamples.xml", 12): "bizStep spelling",
}


def _namespaces(context: Any) -> dict[str, str]:
    out = dict(STANDARD_PREFIXES)
    for item in context if isinstance(context, list) else [context]:
        if isinstance(item, dict):
            out.update({k: v for k, v in item.items() if isinstance(v, str)})
    return out


def _normal_key(key: str, namespaces: dict[str, str]) -> str:
    marker = "@" if key.startswith("@") else ""
    prefix, colon, local = key.removeprefix("@").partition(":")
    if colon and prefix in namespaces:
        return f"{marker}{{{namespaces[prefix].rstrip('/#')}}}{local}"
    return key


def normalise(value: Any, namespaces: dict[str, str], key: str = "") -> Any:
    if isinstance(value, dict):
        return {_normal_key(k, namespaces): normalise(v, namespaces, k) for k, v in value.items()}
    if isinstance(value, list):
        return [normalise(item, namespaces, key) for item in value]
    if isinstance(value, str) and key in TIME_KEYS:
        try:
            return datetime.datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, str) and key == "hexBinaryValue":
        return value.lower()
    if isinstance(value, str) and key == "type" and value.startswith("gs1:"):
        return value.removeprefix("gs1:")
    if isinstance(value, str) and key == "component":
        return value.removeprefix("cbv:Comp-")
    return value


def normalised_events(document: Doc) -> list[Doc]:
    namespaces = _namespaces(document.get("@context"))
    events = [normalise(event, namespaces) for event in events_of(document)]
    return [
        {("eventID" if key == "id" else key): value for key, value in event.items()}
        for event in events
    ]


def _twin_key(event: Doc) -> str:
    """What identifies an event across GS1's files: type, instant, what, error, sensor counts."""
    sensors = event.get("sensorElementList") or []
    shape = [
        event.get("type"),
        event.get("eventTime"),
        [event.get(key) for key in WHAT],
        "errorDeclaration" in event,
        len(sensors),
        sum(len(element.get("sensorReport", [])) for element in sensors),
    ]
    return json.dumps(_plain(shape), sort_keys=True)


def _plain(value: Any) -> Any:
    """JSON-able, with numbers as floats and dateTimes as UTC instants."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.UTC).isoformat()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return value


def _differences(ours: Any, theirs: Any, path: str = "") -> list[str]:
    if isinstance(ours, dict) and isinstance(theirs, dict):
        out = []
        for key in sorted(set(ours) | set(theirs)):
            where = f"{path}.{key}"
            if key not in ours:
                out.append(f"{where}: only in JSON")
            elif key not in theirs:
                out.append(f"{where}: only in XML")
            else:
                out += _differences(ours[key], theirs[key], where)
        return out
    if isinstance(ours, list) and isinstance(theirs, list) and len(ours) == len(theirs):
        return [
            d
            for i, (a, b) in enumerate(zip(ours, theirs, strict=True))
            for d in _differences(a, b, f"{path}[{i}]")
        ]
    return [] if ours == theirs else [f"{path}: XML {ours!r:.50} != JSON {theirs!r:.50}"]


def _compare(ours: Doc, theirs: Doc) -> list[str]:
    if "eventID" not in ours:
        theirs = {k: v for k, v in theirs.items() if k != "eventID"}
    return _differences(ours, theirs)


def test_xml_events_equal_their_json_twins() -> None:
    root = gs1()
    json_files = {
        path.relative_to(root).as_posix(): json.loads(path.read_text(encoding="utf-8"))
        for tree in ("JSON", "JSON-simple-context")
        for path in sorted((root / tree).rglob("*.jsonld"))
    }
    twins: dict[str, list[tuple[str, str, int, Doc]]] = {}  # by key: (json file, stem, index)
    for name, document in json_files.items():
        for index, event in enumerate(normalised_events(document)):
            entry = (name, Path(name).stem, index, event)
            twins.setdefault(_twin_key(event), []).append(entry)
            if event.get("eventID"):
                twins.setdefault(f"id {event['eventID']} {event['type']}", []).append(entry)
    passed, mismatched, total = 0, {}, 0
    for name, document in event_documents().items():
        stem = Path(name).stem
        for index, event in enumerate(normalised_events(document)):
            candidates = {
                (entry[0], entry[2]): entry[3]
                for key in (_twin_key(event), f"id {event.get('eventID')} {event['type']}")
                for entry in twins.get(key, [])
            }
            candidates.update(
                {
                    (entry[0], entry[2]): entry[3]
                    for entries in twins.values()
                    for entry in entries
                    if entry[1] == stem and entry[2] == index
                }
            )
            for tree in ("JSON/", "JSON-simple-context/"):
                found = [c for (file, _), c in candidates.items() if file.startswith(tree)]
                if not found:
                    continue
                total += 1
                best = min((_compare(event, twin) for twin in found), key=len)
                if best:
                    mismatched[(name, index)] = best
                else:
                    passed += 1
    print(f"\nJSON twins: {passed}/{total} passed ((XML event, JSON tree) twin pairs)")
    for (name, index), diffs in sorted(mismatched.items()):
        print(f"  genuine difference {name}#{index}: {'; '.join(diffs[:3])}")
    assert set(mismatched) == set(GENUINE_TWIN_DIFFERENCES)
    assert passed >= 30


def test_gs1_json_examples_write_to_valid_xml_and_read_back() -> None:
    """The other direction: each JSON example -> XML (XSD-valid) -> JSON, same events."""
    root = gs1()
    # GS1 JSON files that are not valid EPCIS 2.0 JSON-LD, refused with a clear message.
    refused = {
        "JSON-simple-context/Example-TransactionEvents-2020_07_03y.jsonld": "expected a list",
        "JSON-simple-context/WithSensorData/SensorDataExample12.jsonld": "creationDate",
    }
    done = 0
    for tree in ("JSON", "JSON-simple-context"):
        for path in sorted((root / tree).rglob("*.jsonld")):
            name = path.relative_to(root).as_posix()
            document = json.loads(path.read_text(encoding="utf-8"))
            if name in refused:
                with pytest.raises(InvalidDocument, match=refused[name]):
                    write_document(document)
                continue
            written = write_document(document)
            xsd = schema(
                "EPCglobal-epcis-query-2_0.xsd"
                if document["type"] == "EPCISQueryDocument"
                else "EPCglobal-epcis-2_0.xsd"
            )
            assert xsd.validate(etree.fromstring(written)), (name, xsd.error_log.last_error)
            back = read_document(written)
            # XML extensions are untyped: a JSON true in one comes back as "true".
            theirs = _untyped(normalised_events(document))
            assert normalised_events(back) == theirs, name
            done += 1
    print(f"\nGS1 JSON examples -> XSD-valid XML -> same events: {done}, refused {len(refused)}")
    assert done >= 60


def _untyped(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: _untyped(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_untyped(item, key) for item in value]
    if isinstance(value, bool) and ":" in key and key.startswith("{"):
        return "true" if value else "false"
    return value


# ---------------------------------------------------------------------------------------------
# Conversion details (no reference data needed)

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


def test_cbv_values_are_bare_terms_in_json_and_urns_in_xml() -> None:
    event = only_event(
        epcis(
            object_event(
                "<bizStep>urn:epcglobal:cbv:bizstep:shipping</bizStep>"
                "<disposition>https://example.com/disp/own</disposition>"
                "<bizTransactionList><bizTransaction type='urn:epcglobal:cbv:btt:po'>"
                "urn:epc:id:gdti:0614141.00001.1</bizTransaction>"
                "<bizTransaction>urn:x:no-type</bizTransaction></bizTransactionList>"
                "<sourceList><source type='urn:epcglobal:cbv:sdt:owning_party'>"
                "urn:epc:id:pgln:0614141.00001</source></sourceList>"
                "<sensorElementList><sensorElement><sensorReport type='gs1:Temperature'"
                " component='cbv:Comp-x' exception='gs1:ALARM_CONDITION' value='21'/>"
                "</sensorElement></sensorElementList>"
                "<persistentDisposition><unset>urn:epcglobal:cbv:disp:active</unset>"
                "<set>urn:epcglobal:cbv:disp:in_transit</set></persistentDisposition>"
            )
        )
    )
    assert event["bizStep"] == "shipping"
    assert event["disposition"] == "https://example.com/disp/own"  # not a CBV URN: kept
    assert event["bizTransactionList"] == [
        {"type": "po", "bizTransaction": "urn:epc:id:gdti:0614141.00001.1"},
        {"bizTransaction": "urn:x:no-type"},
    ]
    assert event["sourceList"] == [
        {"type": "owning_party", "source": "urn:epc:id:pgln:0614141.00001"}
    ]
    assert event["sensorElementList"][0]["sensorReport"] == [
        {"type": "Temperature", "value": 21, "component": "x", "exception": "ALARM_CONDITION"}
    ]
    assert event["persistentDisposition"] == {"unset": ["active"], "set": ["in_transit"]}
    written = write_document({"@context": [STANDARD_CONTEXT], **_document([event])})
    for urn in (
        b"<bizStep>urn:epcglobal:cbv:bizstep:shipping<",
        b'type="urn:epcglobal:cbv:btt:po"',
        b'type="urn:epcglobal:cbv:sdt:owning_party"',
        b'type="gs1:Temperature"',
        b'component="cbv:Comp-x"',
        b"<set>urn:epcglobal:cbv:disp:in_transit</set>",
    ):
        assert urn in written


def _document(events: list[Doc]) -> Doc:
    return {
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2024-01-01T00:00:00Z",
        "epcisBody": {"eventList": events},
    }


def test_numbers_booleans_and_times_take_their_xsd_types() -> None:
    event = only_event(
        epcis(
            object_event(
                "<quantityList>"
                "<quantityElement><epcClass>urn:x:a</epcClass><quantity>200</quantity>"
                "<uom>KGM</uom></quantityElement>"
                "<quantityElement><epcClass>urn:x:b</epcClass><quantity>200.5</quantity>"
                "</quantityElement>"
                "<quantityElement><epcClass>urn:x:c</epcClass>"
                '<quantity xsi:nil="true"/></quantityElement>'
                "</quantityList><sensorElementList><sensorElement>"
                "<sensorMetadata time='2024-01-01T00:00:00.000+01:00'/>"
                "<sensorReport value='26.0' minValue='-3' maxValue='1e3' sDev='0.1'"
                " percRank='50' booleanValue='true' hexBinaryValue='f0' stringValue='007'/>"
                "</sensorElement></sensorElementList>"
            ),
            namespaces='xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"',
        )
    )
    assert event["quantityList"] == [
        {"epcClass": "urn:x:a", "quantity": 200, "uom": "KGM"},
        {"epcClass": "urn:x:b", "quantity": 200.5},
        {"epcClass": "urn:x:c"},  # xsi:nil: no quantity stated
    ]
    assert type(event["quantityList"][0]["quantity"]) is int
    element = event["sensorElementList"][0]
    assert element["sensorMetadata"] == {"time": "2024-01-01T00:00:00.000+01:00"}
    report = element["sensorReport"][0]
    assert report == {
        "value": 26.0,
        "stringValue": "007",
        "booleanValue": True,
        "hexBinaryValue": "f0",
        "minValue": -3,
        "maxValue": 1000.0,
        "sDev": 0.1,
        "percRank": 50,
    }
    assert type(report["value"]) is float
    assert type(report["minValue"]) is int


@pytest.mark.parametrize(
    ("inner", "message"),
    [
        ("<quantityList><quantityElement><epcClass>urn:x</epcClass><quantity>lots</quantity>"
         "</quantityElement></quantityList>", "quantity: 'lots' is not a number"),
        ("<quantityList><quantityElement><epcClass>urn:x</epcClass><quantity>1_000</quantity>"
         "</quantityElement></quantityList>", "is not a number"),
        ("<sensorElementList><sensorElement><sensorReport value='NaN'/></sensorElement>"
         "</sensorElementList>", "value: 'NaN' is not a number"),
        ("<sensorElementList><sensorElement><sensorReport value='1e999'/></sensorElement>"
         "</sensorElementList>", "out of range"),
        ("<sensorElementList><sensorElement><sensorReport booleanValue='yes'/></sensorElement>"
         "</sensorElementList>", "'yes' is not a boolean"),
        ("<quantityList><quantityElement><epcClass>urn:x</epcClass>"
         f"<quantity>{'9' * 5000}</quantity></quantityElement></quantityList>", "quantity"),
        ("<bizStep>a</bizStep><bizStep>b</bizStep>", "<bizStep> at line 1: repeated"),
        ("<childEPCs/>", "unexpected element in <ObjectEvent>"),
        ("<quantityList><foo/></quantityList>", "<foo> at line 1: unexpected"),
        ("<readPoint><id><x/></id></readPoint>", "expected text only"),
    ],
)  # fmt: skip
def test_malformed_values_are_refused_with_event_and_line(inner: str, message: str) -> None:
    with pytest.raises(InvalidDocument, match=r"^event 0: ") as caught:
        read_document(epcis(object_event(inner)))
    assert message in caught.value.message


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


def test_extensions_become_prefixed_keys_declared_in_the_context() -> None:
    document = read_document(EXTENSION_XML)
    assert document["@context"] == [
        STANDARD_CONTEXT,
        {
            "ex": "https://ns.example.com/ext",
            # GS1's XML namespace for cbvmda lacks the final colon of the standard context's
            # IRI: another IRI (the hash ID tells them apart), so a prefix of its own.
            "cbvmda2": "urn:epcglobal:cbv:mda",
            "ns1": "urn:default:ns",  # a default namespace gets a made-up prefix
            "gs12": "urn:not:gs1",  # gs1 belongs to the standard context
            "other": "urn:other",
        },
    ]
    event = events_of(document)[0]
    assert event["readPoint"] == {
        "id": "urn:epc:id:sgln:0614141.00001.0",
        "futureField": "f",  # unqualified, from <extension>
        "ex:dock": "7",  # XML extensions are untyped: text stays a string
    }
    element = event["sensorElementList"][0]
    assert element["sensorMetadata"] == {"ex:calibrated": "2024-01-01"}
    assert element["sensorReport"] == [{"value": 1, "bizRules": "urn:r"}]
    assert element["ex:probe"] == {"ex:serial": "42"}
    assert event["ilmd"] == {
        "cbvmda2:lotNumber": "LOT1",
        "cbvmda2:netWeight": {"@measurementUnitCode": "KGM", "#text": "3.5"},
    }
    assert event["ex:tag"] == ["a", "b"]
    assert event["ex:nested"] == {"ex:inner": {"local": "deep"}, "ex:empty": "", "ex:none": None}
    assert event["ex:typed"] == "10"  # xsi:type hints are dropped
    assert event["ns1:plain"] == "default namespace"
    assert event["gs12:x"] == "clash"
    assert event["other:inWrapper"] == "w"  # an event's <extension> wrapper is unwrapped
    assert event["@ex:origin"] == "scanner"
    assert read_document(write_document(document)) == document


def test_writer_resolves_extension_keys_through_the_context() -> None:
    event = {
        "type": "ObjectEvent",
        "eventTime": "2024-01-01T00:00:00Z",
        "eventTimeZoneOffset": "+00:00",
        "action": "OBSERVE",
        "ion:reportedBy": "urn:epc:id:pgln:0614141.00001",
        "https://example.org/voc/flag": True,
        "http://other.example/v#count": 3,
        "cbvmda:lotNumber": "LOT",
        "brand": "x",  # a term the context maps to a full IRI
        "id": "urn:uuid:0b3e7a1c-4f8e-4c1a-9d0e-3a2b1c0d9e8f",  # JSON-LD alias of eventID
    }
    context = [
        STANDARD_CONTEXT,
        {"ion": "https://ionledger.org/voc/", "ex": "https://example.org/voc/"},
        {"brand": {"@id": "https://example.org/voc/brand"}},
    ]
    written = write_document({"@context": context, **_document([event])})
    assert valid_or_no_xsd(written)
    back = read_document(written)
    assert back["@context"][1] == {
        "ion": "https://ionledger.org/voc/",
        "ex": "https://example.org/voc/",
        "ns1": "http://other.example/v#",
    }
    assert events_of(back) == [
        {
            "type": "ObjectEvent",
            "eventTime": "2024-01-01T00:00:00Z",
            "eventTimeZoneOffset": "+00:00",
            "eventID": "urn:uuid:0b3e7a1c-4f8e-4c1a-9d0e-3a2b1c0d9e8f",
            "action": "OBSERVE",
            "ion:reportedBy": "urn:epc:id:pgln:0614141.00001",
            "ex:flag": "true",
            "ns1:count": "3",
            "cbvmda:lotNumber": "LOT",
            "ex:brand": "x",
        }
    ]


def test_json_keys_xml_has_no_place_for_survive_a_round_trip() -> None:
    """Partner documents (lenient import) carry what EPCIS XML cannot say directly: a field the
    event type lacks, a prefix only a remote context defines, an object in an attribute."""
    event = {
        "type": "TransformationEvent",
        "eventTime": "2026-01-22T09:15:00.000Z",
        "eventTimeZoneOffset": "+01:00",
        "action": "ADD",  # TransformationEvent has no action in EPCIS 2.0
        "outputEPCList": ["https://id.gs1.org/01/09521234002000/21/1"],
        "ilmd": {"eubat:hasCellChemistry": "LFP"},  # eubat: from a remote context only
        "sensorElementList": [
            {
                "sensorReport": [
                    {
                        "type": "eubat:hasInternalResistance",
                        "value": 2.4,
                        "eubat:hasComponentLocation": {"@id": "eubat:Casing"},
                    }
                ]
            }
        ],
    }
    context = [
        "https://ref.gs1.org/standards/epcis/epcis-context.jsonld",
        "https://ref.openepcis.io/extensions/eu/battery/battery-context.jsonld",
    ]
    written = write_document({"@context": context, **_document([event])})
    assert valid_or_no_xsd(written)
    assert b'xmlns:eubat="urn:ionledger:json-prefix:eubat"' in written
    assert b'xmlns:json="urn:ionledger:json-key"' in written
    back = read_document(written)
    assert back["@context"] == [STANDARD_CONTEXT]  # eubat stays the remote context's
    assert events_of(back) == [event]


def test_query_documents_keep_query_name_and_subscription() -> None:
    document = read_document(EXTENSION_XML)
    query = as_query_document(document)
    written = write_document(query)
    assert b"<epcisq:QueryResults>" in written
    assert valid_or_no_xsd(written, "EPCglobal-epcis-query-2_0.xsd")
    back = read_document(written)
    assert back == {**query, "@context": document["@context"]}
    assert back["epcisBody"]["queryResults"]["subscriptionID"] == "sub-1"
    assert read_events(written) == events_of(document)


# ---------------------------------------------------------------------------------------------
# EPCIS 1.x documents: read into the 2.0 form, written as 2.0
#
# The same events twice: in EPCIS 1.2's layout (2.0-era fields in <extension>/<baseExtension>
# wrappers, TransformationEvent inside the EventList's <extension>, a header with master data)
# and in EPCIS 2.0's.

V1_NAMESPACES = (
    'xmlns:ex="https://ns.example.com/epcis/" xmlns:cbvmda="urn:epcglobal:cbv:mda:"'
    ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
)
V1_PARTIES = (
    "<sourceList><source type='urn:epcglobal:cbv:sdt:possessing_party'>"
    "urn:epc:id:pgln:0614141.00001</source></sourceList>"
    "<destinationList><destination type='urn:epcglobal:cbv:sdt:owning_party'>"
    "urn:epc:id:pgln:0614141.00002</destination></destinationList>"
)
V1_TIMES = (
    "<eventTime>2019-10-21T11:00:30.000+01:00</eventTime>"
    "<recordTime>2019-10-21T11:00:31.000+01:00</recordTime>"
    "<eventTimeZoneOffset>+01:00</eventTimeZoneOffset>"
)
V1_ERROR = (
    "<errorDeclaration><declarationTime>2019-10-22T08:00:00Z</declarationTime>"
    "<reason>urn:epcglobal:cbv:er:incorrect_data</reason><correctiveEventIDs>"
    "<correctiveEventID>urn:uuid:4f3c6a1e-0000-4000-8000-000000000002</correctiveEventID>"
    "</correctiveEventIDs></errorDeclaration>"
)


def _quantity(epc_class: str, quantity: str) -> str:
    return (
        f"<quantityElement><epcClass>{epc_class}</epcClass><quantity>{quantity}</quantity>"
        "<uom>KGM</uom></quantityElement>"
    )


def _v1_events() -> str:
    lot = _quantity("urn:epc:class:lgtin:4012345.012345.LOT1", "50.5")
    return (
        "<ObjectEvent>"
        + V1_TIMES
        + "<baseExtension><eventID>urn:uuid:4f3c6a1e-0000-4000-8000-000000000001</eventID>"
        + V1_ERROR
        + "</baseExtension>"
        "<epcList><epc>urn:epc:id:sgtin:0614141.107346.2017</epc></epcList>"
        "<action>ADD</action><bizStep>urn:epcglobal:cbv:bizstep:commissioning</bizStep>"
        "<disposition>urn:epcglobal:cbv:disp:active</disposition>"
        "<readPoint><id>urn:epc:id:sgln:0614141.07346.1234</id></readPoint>"
        "<bizTransactionList><bizTransaction type='urn:epcglobal:cbv:btt:po'>"
        "urn:epc:id:gdti:0614141.00001.1618034</bizTransaction></bizTransactionList>"
        f"<extension><quantityList>{lot}</quantityList>{V1_PARTIES}"
        "<ilmd><cbvmda:bestBeforeDate>2020-10-21</cbvmda:bestBeforeDate></ilmd>"
        "<extension><ex:inner>1</ex:inner></extension></extension>"
        "<ex:top>x</ex:top></ObjectEvent>"
        "<AggregationEvent>" + V1_TIMES + "<parentID>urn:epc:id:sscc:0614141.1234567890</parentID>"
        "<childEPCs><epc>urn:epc:id:sgtin:0614141.107346.2018</epc></childEPCs>"
        "<action>ADD</action><bizStep>urn:epcglobal:cbv:bizstep:packing</bizStep>"
        f"<extension><childQuantityList>{lot}</childQuantityList>{V1_PARTIES}</extension>"
        "</AggregationEvent>"
        "<TransactionEvent>" + V1_TIMES + "<bizTransactionList><bizTransaction>"
        "urn:epc:id:gdti:0614141.00001.1</bizTransaction></bizTransactionList>"
        "<epcList/><action>OBSERVE</action>"
        f"<extension><quantityList>{lot}</quantityList></extension></TransactionEvent>"
        "<extension><TransformationEvent>"
        + V1_TIMES
        + "<baseExtension><eventID>urn:uuid:4f3c6a1e-0000-4000-8000-000000000003</eventID>"
        "</baseExtension>"
        f"<inputQuantityList>{lot}</inputQuantityList>"
        "<outputEPCList><epc>urn:epc:id:sgtin:0614141.107346.3000</epc></outputEPCList>"
        "<transformationID>urn:epc:id:gdti:0614141.12345.400</transformationID>"
        "<bizStep>urn:epcglobal:cbv:bizstep:commissioning</bizStep>"
        f"{V1_PARTIES}<ilmd><ex:grade>A</ex:grade></ilmd>"
        "</TransformationEvent></extension>"
    )


def _v2_events() -> str:
    lot = _quantity("urn:epc:class:lgtin:4012345.012345.LOT1", "50.5")
    return (
        "<ObjectEvent>"
        + V1_TIMES
        + "<eventID>urn:uuid:4f3c6a1e-0000-4000-8000-000000000001</eventID>"
        + V1_ERROR
        + "<epcList><epc>urn:epc:id:sgtin:0614141.107346.2017</epc></epcList>"
        "<action>ADD</action><bizStep>urn:epcglobal:cbv:bizstep:commissioning</bizStep>"
        "<disposition>urn:epcglobal:cbv:disp:active</disposition>"
        "<readPoint><id>urn:epc:id:sgln:0614141.07346.1234</id></readPoint>"
        "<bizTransactionList><bizTransaction type='urn:epcglobal:cbv:btt:po'>"
        "urn:epc:id:gdti:0614141.00001.1618034</bizTransaction></bizTransactionList>"
        f"<quantityList>{lot}</quantityList>{V1_PARTIES}"
        "<ilmd><cbvmda:bestBeforeDate>2020-10-21</cbvmda:bestBeforeDate></ilmd>"
        "<ex:inner>1</ex:inner><ex:top>x</ex:top></ObjectEvent>"
        "<AggregationEvent>" + V1_TIMES + "<parentID>urn:epc:id:sscc:0614141.1234567890</parentID>"
        "<childEPCs><epc>urn:epc:id:sgtin:0614141.107346.2018</epc></childEPCs>"
        "<action>ADD</action><bizStep>urn:epcglobal:cbv:bizstep:packing</bizStep>"
        f"<childQuantityList>{lot}</childQuantityList>{V1_PARTIES}</AggregationEvent>"
        "<TransactionEvent>" + V1_TIMES + "<bizTransactionList><bizTransaction>"
        "urn:epc:id:gdti:0614141.00001.1</bizTransaction></bizTransactionList>"
        "<epcList/><action>OBSERVE</action>"
        f"<quantityList>{lot}</quantityList></TransactionEvent>"
        "<TransformationEvent>"
        + V1_TIMES
        + "<eventID>urn:uuid:4f3c6a1e-0000-4000-8000-000000000003</eventID>"
        f"<inputQuantityList>{lot}</inputQuantityList>"
        "<outputEPCList><epc>urn:epc:id:sgtin:0614141.107346.3000</epc></outputEPCList>"
        "<transformationID>urn:epc:id:gdti:0614141.12345.400</transformationID>"
        "<bizStep>urn:epcglobal:cbv:bizstep:commissioning</bizStep>"
        f"{V1_PARTIES}<ilmd><ex:grade>A</ex:grade></ilmd></TransformationEvent>"
    )


V1_DOCUMENT = (
    '<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:1" schemaVersion="1.2"'
    f' creationDate="2019-10-21T12:00:00Z" {V1_NAMESPACES}>'
    "<EPCISHeader><extension><EPCISMasterData><VocabularyList/></EPCISMasterData></extension>"
    f"</EPCISHeader><EPCISBody><EventList>{_v1_events()}</EventList></EPCISBody>"
    "</epcis:EPCISDocument>"
).encode()
V2_DOCUMENT = (
    '<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2" schemaVersion="2.0"'
    f' creationDate="2019-10-21T12:00:00Z" {V1_NAMESPACES}>'
    f"<EPCISBody><EventList>{_v2_events()}</EventList></EPCISBody></epcis:EPCISDocument>"
).encode()


def _query_xml(namespace: str, events: str, version: str) -> bytes:
    return (
        f'<q:EPCISQueryDocument xmlns:q="{namespace}" schemaVersion="{version}"'
        f' creationDate="2019-10-21T12:00:00Z" {V1_NAMESPACES}><EPCISBody><q:QueryResults>'
        "<queryName>SimpleEventQuery</queryName><subscriptionID>sub-1</subscriptionID>"
        f"<resultsBody><EventList>{events}</EventList></resultsBody></q:QueryResults>"
        "</EPCISBody></q:EPCISQueryDocument>"
    ).encode()


def test_an_epcis_1x_document_reads_as_its_2_0_equivalent() -> None:
    document = read_document(V1_DOCUMENT)
    assert document == read_document(V2_DOCUMENT)
    assert document["schemaVersion"] == "2.0"  # the 2.0 form of the 1.2 document
    obj, aggregation, transaction, transformation = events_of(document)
    assert obj["eventID"] == "urn:uuid:4f3c6a1e-0000-4000-8000-000000000001"
    assert obj["errorDeclaration"]["reason"] == "incorrect_data"
    assert obj["quantityList"] == [
        {"epcClass": "urn:epc:class:lgtin:4012345.012345.LOT1", "quantity": 50.5, "uom": "KGM"}
    ]
    assert obj["sourceList"] == [
        {"type": "possessing_party", "source": "urn:epc:id:pgln:0614141.00001"}
    ]
    assert obj["ilmd"] == {"cbvmda:bestBeforeDate": "2020-10-21"}  # the standard IRI
    assert (obj["ex:inner"], obj["ex:top"]) == ("1", "x")
    assert "childQuantityList" in aggregation
    assert "destinationList" in aggregation
    assert transaction["quantityList"] == obj["quantityList"]
    assert transformation["type"] == "TransformationEvent"
    assert transformation["ilmd"] == {"ex:grade": "A"}


def test_an_epcis_1x_document_is_written_as_valid_epcis_2_0() -> None:
    document = read_document(V1_DOCUMENT)
    written = write_document(document)
    assert b'xmlns:epcis="urn:epcglobal:epcis:xsd:2"' in written
    assert b"xsd:1" not in written
    assert b"baseExtension" not in written
    assert b'schemaVersion="2.0"' in written
    assert valid_or_no_xsd(written)
    assert written == write_document(read_document(V2_DOCUMENT))
    assert read_document(written) == document


def test_an_epcis_1x_query_document_reads_and_writes_as_2_0() -> None:
    v1 = _query_xml("urn:epcglobal:epcis-query:xsd:1", _v1_events(), "1.2")
    document = read_document(v1)
    assert document == read_document(
        _query_xml("urn:epcglobal:epcis-query:xsd:2", _v2_events(), "2.0")
    )
    assert document["epcisBody"]["queryResults"]["subscriptionID"] == "sub-1"
    assert events_of(document) == events_of(read_document(V1_DOCUMENT))
    written = write_document(document)
    assert b'xmlns:epcisq="urn:epcglobal:epcis-query:xsd:2"' in written
    assert valid_or_no_xsd(written, "EPCglobal-epcis-query-2_0.xsd")
    assert read_document(written) == document


def test_epcis_1x_hash_ids_equal_their_2_0_twins() -> None:
    ids = document_hash_ids(read_document(V1_DOCUMENT))
    assert ids == document_hash_ids(read_document(V2_DOCUMENT))
    assert len(set(ids)) == 4


# ---------------------------------------------------------------------------------------------
# Other layouts met in the wild, and user extensions outside events

IGNORE_FIELDS = (
    '<rx:ignoreFields xmlns:rx="https://repository-x.example.com/">'
    "<ex:testField1/><ex:testField2/></rx:ignoreFields>"
)


def test_document_level_user_extensions_are_kept_and_written_back() -> None:
    data = epcis(object_event("<ex:testField1>1</ex:testField1>"), namespaces=V1_NAMESPACES)
    data = data.replace(b"</EPCISBody>", b"</EPCISBody>" + IGNORE_FIELDS.encode())
    document = read_document(data)
    assert document["rx:ignoreFields"] == {"ex:testField1": "", "ex:testField2": ""}
    assert document["@context"][1]["rx"] == "https://repository-x.example.com/"
    written = write_document(document)
    assert valid_or_no_xsd(written)
    assert read_document(written) == document
    # The document says which fields its hash IDs leave out.
    (hash_id,) = document_hash_ids(document)
    event = {k: v for k, v in events_of(document)[0].items() if k != "ex:testField1"}
    assert hash_id == event_hash_id(event, document["@context"])


def test_a_query_document_without_body_and_query_results_wrappers_is_read() -> None:
    """As in a document of GS1's hash ID reference: the QueryResults fields sit in the root."""
    data = (
        '<q:EPCISQueryDocument xmlns:q="urn:epcglobal:epcis-query:xsd:2" schemaVersion="2.0"'
        f' creationDate="2024-06-08T11:30:47.0Z" {V1_NAMESPACES}>{IGNORE_FIELDS}'
        f"<queryName>SimpleEventQuery</queryName><resultsBody><EventList>{object_event()}"
        "</EventList></resultsBody></q:EPCISQueryDocument>"
    ).encode()
    document = read_document(data)
    results = document["epcisBody"]["queryResults"]
    assert results["queryName"] == "SimpleEventQuery"
    assert results["rx:ignoreFields"] == {"ex:testField1": "", "ex:testField2": ""}
    assert "rx:ignoreFields" not in document  # once, in the QueryResults it belongs to
    assert events_of(document) == read_events(epcis(object_event()))
    written = write_document(document)
    assert b"<epcisq:QueryResults>" in written
    assert valid_or_no_xsd(written, "EPCglobal-epcis-query-2_0.xsd")
    assert read_document(written) == document


def test_an_unqualified_query_results_element_is_read() -> None:
    qualified = _query_xml("urn:epcglobal:epcis-query:xsd:2", object_event(), "2.0")
    unqualified = qualified.replace(b"q:QueryResults", b"QueryResults")
    assert read_document(unqualified) == read_document(qualified)


def test_only_terms_the_context_defines_are_bare_in_json() -> None:
    """A value outside the CBV's terms keeps its XML spelling (a bare one would be another
    IRI, and hash differently)."""
    event = only_event(
        epcis(
            object_event(
                "<bizStep>urn:epcglobal:cbv:bizstep:my_step</bizStep>"
                "<sensorElementList><sensorElement>"
                "<sensorReport type='gs1:MT-Humidity' exception='gs1:MY_ALERT' value='1'/>"
                "<sensorReport type='gs1:RelativeHumidity' component='cbv:Comp-w' value='2'/>"
                "</sensorElement></sensorElementList>"
            )
        )
    )
    assert event["bizStep"] == "urn:epcglobal:cbv:bizstep:my_step"
    assert event["sensorElementList"][0]["sensorReport"] == [
        {"type": "gs1:MT-Humidity", "value": 1, "exception": "gs1:MY_ALERT"},
        {"type": "RelativeHumidity", "value": 2, "component": "cbv:Comp-w"},
    ]
    # and back: a bare value that is no term is written as it is, and reads back the same
    bare = {**event, "bizStep": "my_step"}
    written = write_document({"@context": [STANDARD_CONTEXT], **_document([bare])})
    assert b"<bizStep>my_step</bizStep>" in written
    assert b'type="gs1:MT-Humidity"' in written
    assert b'type="gs1:RelativeHumidity"' in written
    assert only_event(written) == bare


def test_cbvmda_maps_to_the_standard_prefix_only_with_its_exact_iri() -> None:
    with_colon = only_event(
        epcis(
            object_event("<ilmd><m:lotNumber>L1</m:lotNumber></ilmd>"),
            namespaces='xmlns:m="urn:epcglobal:cbv:mda:"',
        )
    )
    assert with_colon["ilmd"] == {"cbvmda:lotNumber": "L1"}
    written = write_document({"@context": [STANDARD_CONTEXT], **_document([with_colon])})
    assert b'xmlns:cbvmda="urn:epcglobal:cbv:mda:"' in written
    assert only_event(written) == with_colon


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(type="EPCISMasterDataDocument"), "not an event document"),
        (lambda d: d.pop("creationDate"), "creationDate: expected a string"),
        (lambda d: _event(d).update(type="QuantityEvent"), "event 0: type 'QuantityEvent'"),
        (lambda d: _event(d).pop("action"), "event 0: ObjectEvent: action is required"),
        (lambda d: _event(d).update({"ex:1x": 1}), "'1x' is not a valid XML name"),
        (lambda d: _event(d).update({"ex:x": [[1]]}), "a list in a list"),
        (lambda d: _event(d).update({"@ex:x": {"n": float("nan")}}), "not writable as JSON"),
        (lambda d: _event(d).update({"ex:x": {"a": object()}}), "has no XML text form"),
        (lambda d: _event(d).update({"ex:x": "nul\x00"}), "not writable as XML"),
        (lambda d: _event(d).update(epcList="urn:x"), "epcList: expected a list"),
        (lambda d: _event(d).update(quantityList=[{"epcClass": "c", "uom": "KGM"}]), "uom"),
        (lambda d: _event(d).update(sourceList=[{"source": "s"}]), "sourceList type"),
        (lambda d: _event(d).update(readPoint={"ex:a": "1"}), "readPoint: id is required"),
        (lambda d: _event(d).update(id="urn:a", eventID="urn:b"), "id and eventID differ"),
        (lambda d: _event(d).update({"ex:deep": _nested(100)}), "deeper than the limit"),
    ],
)  # fmt: skip
def test_the_writer_refuses_what_xml_cannot_hold(
    change: Callable[[Doc], Any], message: str
) -> None:
    document: Doc = {
        "@context": [STANDARD_CONTEXT, {"ex": "urn:ex:"}],
        **_document(
            [
                {
                    "type": "ObjectEvent",
                    "eventTime": "2024-01-01T00:00:00Z",
                    "eventTimeZoneOffset": "+00:00",
                    "action": "ADD",
                }
            ]
        ),
    }
    write_document(document)
    change(document)
    with pytest.raises(InvalidDocument) as caught:
        write_document(document)
    assert message in caught.value.message


_TOP_KEYS = st.sampled_from(["ex:a", "ex:b", "other:c", "@ex:attr"])
_NESTED_KEYS = st.sampled_from(["ex:a", "ex:b", "other:c", "plain", "@ex:attr", "@bare", "#text"])
_SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
_EXTENSION_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_NESTED_KEYS, inner, max_size=3),
    max_leaves=10,
)


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(_TOP_KEYS, _EXTENSION_VALUES, max_size=4),
    st.dictionaries(_NESTED_KEYS.filter(lambda k: not k.startswith("#")), _EXTENSION_VALUES),
)
def test_any_extension_value_writes_and_reads_back_stably_or_is_refused(
    extensions: Doc, ilmd: Doc
) -> None:
    """Whatever JSON an extension holds: InvalidDocument (e.g. an infinite float, a list in a
    list, text XML cannot hold) or XML that reads back to a fixed point."""
    event = {
        "type": "ObjectEvent",
        "eventTime": "2024-01-01T00:00:00Z",
        "eventTimeZoneOffset": "+00:00",
        "action": "ADD",
        "ilmd": ilmd,
        **extensions,
    }
    context = [STANDARD_CONTEXT, {"ex": "urn:ex:", "other": "https://other.example/"}]
    try:
        written = write_document({"@context": context, **_document([event])})
    except InvalidDocument:
        return
    once = read_document(written)
    assert valid_or_no_xsd(written)
    assert read_document(write_document(once)) == once


def _event(document: Doc) -> Doc:
    event: Doc = document["epcisBody"]["eventList"][0]
    return event


def _nested(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = {"ex:n": value}
    return value


# ---------------------------------------------------------------------------------------------
# Hostile and broken input: always InvalidDocument, with a message saying what is wrong

MARKER = "MARKER-5b0c2e-never-read"
JSON_NS = 'xmlns:j="urn:ionledger:json-key"'
JSON_MARK = "j:jsonValued='a'"


def _billion_laughs() -> bytes:
    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{(f"&lol{i - 1};" if i > 1 else "&lol;") * 10}">' for i in range(1, 10)
    )
    return f'<?xml version="1.0"?><!DOCTYPE lolz [{entities}]><lolz>&lol9;</lolz>'.encode()


def _xxe(url: str) -> bytes:
    prolog = f'<?xml version="1.0"?><!DOCTYPE epcis:EPCISDocument [<!ENTITY xxe SYSTEM "{url}">]>'
    return epcis(object_event("<bizStep>&xxe;</bizStep>"), prolog=prolog)


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text(MARKER)
    return path


def _refused(data: bytes, **limits: int) -> str:
    with pytest.raises(InvalidDocument) as caught:
        read_document(data, **limits)
    assert MARKER not in str(caught.value)
    return caught.value.message


def test_billion_laughs_is_refused_before_parsing() -> None:
    assert _refused(_billion_laughs()) == DOCTYPE_REFUSED
    assert _refused(_billion_laughs().decode().encode("utf-16")) == DOCTYPE_REFUSED


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-16-be", "utf-32"])
def test_xxe_never_reads_the_file(secret: Path, encoding: str) -> None:
    text = _xxe(secret.as_uri()).decode()
    text = text.replace('version="1.0"', f'version="1.0" encoding="{encoding}"')
    assert _refused(text.encode(encoding)) == DOCTYPE_REFUSED


def test_xxe_is_refused_even_if_the_prolog_scan_missed_it(
    secret: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Defence in depth: with the pre-parse scan disabled, the parser's settings and the
    post-parse DOCTYPE check still refuse it, and nothing is read."""
    monkeypatch.setattr(xml, "_check_doctype", lambda data: False)
    for data in (_xxe(secret.as_uri()), _xxe("http://127.0.0.1:9/x"), _billion_laughs()):
        assert _refused(data) == DOCTYPE_REFUSED
    parameter = (
        f'<!DOCTYPE x [<!ENTITY % p SYSTEM "{secret.as_uri()}"> %p;]>'
        + epcis(object_event()).decode()
    ).encode()
    assert _refused(parameter) == DOCTYPE_REFUSED


def test_a_doctype_the_prolog_scan_cannot_see_is_refused_after_parsing(secret: Path) -> None:
    # UTF-7 spells "<" as "+ADw-": the byte scan sees no DOCTYPE, the parsed tree's docinfo does.
    body = _xxe(secret.as_uri()).decode().split("?>", 1)[1]
    body = body.replace("+", "+-").replace("<", "+ADw-")
    assert _refused(b'<?xml version="1.0" encoding="UTF-7"?>' + body.encode()) == DOCTYPE_REFUSED


@pytest.mark.parametrize(
    "prolog",
    [
        '<!DOCTYPE x [<!ENTITY e SYSTEM "http://127.0.0.1:9/x">]>',  # XXE over http
        '<!DOCTYPE x [<!ENTITY % p SYSTEM "http://127.0.0.1:9/p"> %p;]>',  # parameter entity
        '<!DOCTYPE epcis:EPCISDocument SYSTEM "http://127.0.0.1:9/epcis.dtd">',
        '<!DOCTYPE epcis:EPCISDocument PUBLIC "-//GS1//EPCIS//EN" "epcis.dtd">',
        "<!DOCTYPE epcis:EPCISDocument []>",  # a DOCTYPE with nothing in it is still refused
        '<?xml version="1.0"?>\n<!-- a comment --><?pi x?>\n<!DOCTYPE x [<!ELEMENT x ANY>]>',
    ],
)
def test_any_doctype_that_can_declare_or_load_something_is_refused(prolog: str) -> None:
    assert _refused(epcis(object_event(), prolog=prolog)) == DOCTYPE_REFUSED


def test_a_bare_doctype_declares_nothing_and_is_tolerated() -> None:
    # GS1's own examples carry "<!DOCTYPE project>": no DTD, no entities, nothing to resolve.
    data = epcis(object_event(), prolog='<?xml version="1.0"?>\n<!DOCTYPE project>\n')
    assert read_events(data)[0]["action"] == "OBSERVE"
    # An entity reference still has nothing to refer to.
    undeclared = epcis(object_event("<bizStep>&x;</bizStep>"), prolog="<!DOCTYPE project>")
    assert "Entity 'x' not defined" in _refused(undeclared)


@pytest.mark.parametrize(
    ("data", "limits", "message"),
    [
        (epcis(object_event()), {"max_bytes": 100}, "exceeds the limit of 100 bytes"),
        (epcis(object_event()), {"max_depth": 5}, "deeper than the limit of 5 elements (line 1)"),
        (b"<a>" * 300 + b"</a>" * 300, {}, "deeper than the limit of 64 elements"),
        (b"<a>" * 300 + b"</a>" * 300, {"max_depth": 1000}, "deeper than the limit of 256"),
        (b"<a>\n<b></a>", {}, "malformed XML at line 2, column 8: Opening and ending tag"),
        (b"", {}, "empty document"),
        (b" \n\t", {}, "empty document"),
        (b"<!DOCTYPE x>", {}, "malformed XML at line 1"),
        (b"\xff\xfe\x00garbage\x80\x81\x00\xc3", {}, "malformed XML at line 1"),
        (b"\x80\x81\x82 not xml", {}, "malformed XML at line 1"),
        (b'<?xml version="1.0" encoding="UTF-8"?><a>\xff\xfe</a>', {}, "malformed XML"),
        (b" " * (1024 * 1024 + 10) + b"<a/>", {}, "prolog (before the root element) is longer"),
        (b'<foo xmlns="urn:x"/>', {}, "not an EPCIS document: the root element is {urn:x}"),
        (b"<EPCISDocument/>", {}, "not an EPCIS document"),
        (b'<e:EPCISDocument xmlns:e="urn:epcglobal:epcis:xsd:1"/>', {}, "has no <EPCISBody>"),
        (b'<m:EPCISMasterDataDocument xmlns:m="urn:epcglobal:epcis-masterdata:xsd:1"/>', {},
         "an EPCIS 1.x master-data document (EPCISMasterDataDocument), not an event document"),
        (b'<q:EPCISQueryDocument xmlns:q="urn:epcglobal:epcis-query:xsd:1"><EPCISBody>'
         b"<q:Poll/></EPCISBody></q:EPCISQueryDocument>", {},
         "an EPCIS query-interface message (Poll), not an event document"),
        (b'<q:EPCISQueryDocument xmlns:q="urn:epcglobal:epcis-query:xsd:2"><queryName>x'
         b"</queryName></q:EPCISQueryDocument>", {}, "has no <EPCISBody>"),
        (b'<e:EPCISException xmlns:e="urn:epcglobal:epcis:xsd:2"/>', {}, "an EPCIS exception"),
        (
            b'<q:EPCISQueryDocument xmlns:q="urn:epcglobal:epcis-query:xsd:2"><EPCISBody>'
            b"<q:Poll><queryName>x</queryName></q:Poll></EPCISBody></q:EPCISQueryDocument>",
            {},
            "an EPCIS query-interface message (Poll), not an event document",
        ),
        (
            b'<q:EPCISQueryDocument xmlns:q="urn:epcglobal:epcis-query:xsd:2"><EPCISBody>'
            b"<q:QueryResults><queryName>x</queryName><resultsBody><VocabularyList/>"
            b"</resultsBody></q:QueryResults></EPCISBody></q:EPCISQueryDocument>",
            {},
            "master-data results (VocabularyList), not an event document",
        ),
        (epcis("<QuantityEvent/>"), {}, "event 0: <QuantityEvent> at line 1: not an EPCIS 2.0"),
        (epcis("<QuantityEvent/>"), {}, "2.0 removed it (an ObjectEvent with a quantityList"),
        (epcis(object_event(attributes=f" {JSON_MARK} a='[[['"), namespaces=JSON_NS), {},
         "attribute a: not the JSON it is marked as"),
        (epcis(object_event(attributes=f" {JSON_MARK} a='{'[' * 70}{']' * 70}'"),
               namespaces=JSON_NS), {}, "attribute a: JSON deeper than the limit of 64"),
        (epcis("").replace(b"<EPCISBody>", b"<EPCISHeader/>").replace(b"</EPCISBody>", b""),
         {}, "has no <EPCISBody>"),
    ],
)  # fmt: skip
def test_broken_input_is_refused_with_a_specific_message(
    data: bytes, limits: dict[str, int], message: str
) -> None:
    assert message in _refused(data, **limits)


def test_nothing_but_invalid_document_escapes_for_any_bytes() -> None:
    rng = random.Random(20240601)
    seed = EXTENSION_XML
    for _ in range(400):
        data = bytearray(seed)
        for _ in range(rng.randint(1, 8)):
            position = rng.randrange(len(data))
            if rng.random() < 0.5:
                data[position] = rng.randrange(256)
            else:
                del data[position : position + rng.randint(1, 40)]
        try:
            document = read_document(bytes(data))
        except InvalidDocument:
            continue
        read_document(write_document(document))  # what reads also writes and reads back
    for data in (bytes(range(256)), b"<" * 5000, b"<?xml" * 100, "\u00e9".encode("utf-16")):
        with pytest.raises(InvalidDocument):
            read_document(data)
    with pytest.raises(InvalidDocument, match="expected the XML document as bytes"):
        read_document("<a/>")  # type: ignore[arg-type]
