"""EPCIS XML read and written on GS1's own examples: the XSD, and their JSON-LD twins."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

import pytest
from lxml import etree  # type: ignore[import-untyped]

from ionledger.epcis.xml import read_document, read_events, write_document
from ionledger.errors import InvalidDocument
from xml_helpers import (
    Doc,
    as_query_document,
    event_documents,
    events_of,
    gs1,
    schema,
    xml_examples,
)

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
