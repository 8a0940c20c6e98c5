"""What strict validation reports, precisely: GS1's own slips, the battery documents, edge cases."""

from __future__ import annotations

from typing import Any

import pytest

from conftest import need_refdata
from ionledger.epcis.strict import Finding, strict_findings
from strict_oracle import (
    NUMBER_KEYS,
    SIMPLE,
    battery_documents,
    epcis_document,
    load,
    member_name,
    mismatches,
    nodes,
    object_event,
    pairs,
    pointer,
)

# --- GS1's own slips and the battery documents --------------------------------------------------


def _findings(*parts: str) -> list[Finding]:
    return strict_findings(load(need_refdata("epcis", *parts)))


def test_slip_transaction_events_lists_given_as_objects() -> None:
    findings = _findings(*SIMPLE, "Example-TransactionEvents-2020_07_03y.jsonld")
    assert pairs(findings) == {
        ("/epcisBody/eventList/1/sourceList", "type"),
        ("/epcisBody/eventList/1/destinationList", "type"),
    }
    assert all(f.event == 1 and "the schema requires an array" in f.message for f in findings)


@pytest.mark.refdata
def test_slip_object_event_ilmd_with_observe() -> None:
    path = (*SIMPLE, "WithFullCombinationOfFields", "object_event_all_possible_fields.jsonld")
    findings = _findings(*path)
    assert pairs(findings) == {
        ("/epcisBody/eventList/0/ilmd", "not"),  # ilmd only with action ADD; this one OBSERVEs
        ("/epcisBody/eventList/0/sensorElementList/0/type", "propertyNames"),
    }
    assert all(f.event == 0 for f in findings)


@pytest.mark.refdata
def test_slip_sensor_data_12_without_schema_version() -> None:
    findings = _findings(*SIMPLE, "WithSensorData", "SensorDataExample12.jsonld")
    assert [(f.pointer, f.rule, f.event) for f in findings] == [
        ("", "required", None),
        ("", "required", None),
        ("/epcisBody/eventList/0/sensorElementList/0/type", "propertyNames", 0),
    ]
    assert "'schemaVersion'" in findings[0].message
    assert "'creationDate'" in findings[1].message


@pytest.mark.refdata
def test_slip_sensor_data_17_schema_version_as_number() -> None:
    findings = _findings(*SIMPLE, "WithSensorData", "SensorDataExample17.jsonld")
    assert pairs(findings) == {("/schemaVersion", "type"), ("/id", "format.uri")}
    (version,) = (f for f in findings if f.pointer == "/schemaVersion")
    assert version.message == "value 2.0 is a number; the schema requires a string"


@pytest.mark.refdata
def test_simple_context_blank_node_ids_are_not_uris() -> None:
    """Beyond the four slips: "_:document1" (a JSON-LD blank node) is no URI, so with formats
    asserted most JSON-simple-context examples fail on their document "id"."""
    findings = _findings(*SIMPLE, "Example_9.6.1-ObjectEvent.jsonld")
    assert [(f.pointer, f.rule, f.event) for f in findings] == [("/id", "format.uri", None)]


def _numeric_strings(document: Any) -> set[str]:
    return {
        pointer(path)
        for path, value in nodes(document)
        if member_name(path) in NUMBER_KEYS and isinstance(value, str) and "sensorReport" in path
    }


def _cbv1_urns(document: Any) -> set[str]:
    return {
        pointer(path)
        for path, value in nodes(document)
        if isinstance(value, str) and value.startswith("urn:epcglobal:cbv:")
    }


@pytest.mark.refdata
def test_battery_deviations_are_reported_precisely() -> None:
    for path in battery_documents():
        document = load(path)
        findings = strict_findings(document)
        numbers = {f.pointer for f in findings if f.rule == "type"}
        assert numbers == _numeric_strings(document), path.name
        urns = {f.pointer for f in findings if "CBV 1.x URN" in f.message}
        assert urns == _cbv1_urns(document), path.name
        assert all(f.rule == "enum" for f in findings if f.pointer in urns)
        assert ("/_comment_architecture", "propertyNames") in pairs(findings)
        for f in findings:
            assert (f.event is None) == (not f.pointer.startswith("/epcisBody/eventList/"))
    soh = _findings("openepcis-battery", "epcis", "state-of-health.jsonld")
    value = "/epcisBody/eventList/0/sensorElementList/0/sensorReport/0/value"
    assert (
        Finding(value, "type", "value '94.2' is a string; the schema requires a number", 0) in soh
    )
    commissioning = _findings("openepcis-battery", "epcis", "commissioning.jsonld")
    assert (
        Finding(
            "/epcisBody/eventList/0/bizTransactionList/0/type",
            "enum",
            "bizTransaction-type 'urn:epcglobal:cbv:btt:prodorder' is a CBV 1.x URN; the EPCIS 2.0"
            " schema wants the bare CBV term 'prodorder'",
            0,
        )
        in commissioning
    )
    lifecycle = _findings("openepcis-battery", "epcis", "amperia-staxwall-lifecycle.jsonld")
    assert ("/epcisBody/eventList/0/action", "propertyNames") in pairs(lifecycle)


def test_event_index_and_required_findings() -> None:
    bad = {k: v for k, v in object_event(bizStep="shipped").items() if k != "action"}
    findings = strict_findings(epcis_document(object_event(), bad))
    assert [(f.pointer, f.rule, f.event) for f in findings] == [
        ("/epcisBody/eventList/1", "required", 1),
        ("/epcisBody/eventList/1/bizStep", "enum", 1),
    ]
    assert findings[0].message == "ObjectEvent requires 'action'"
    assert findings[1].message.endswith("did you mean 'shipping'?")


def _without(event: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in event.items() if k not in keys}


_READ_POINT = {"id": "urn:epc:id:sgln:0614141.00777.0"}
_SENSORS = [{"sensorReport": [{"type": "Temperature", "value": 26.0, "uom": "CEL"}]}]
_CHILD = {"parentID": "urn:epc:id:sscc:0614141.1234567890", "childEPCs": ["urn:x:1"]}
EDGE_CASES: dict[str, tuple[Any, set[tuple[str, str]]]] = {
    # an event without type: every event type's branch applies; we name the cause
    "untyped event": (
        epcis_document(_without(object_event(bizStep="shipped", epcList=["a b"]), "type")),
        {("/epcisBody/eventList/0", "required"), ("/epcisBody/eventList/0/bizStep", "enum"),
         ("/epcisBody/eventList/0/epcList/0", "format.uri")},
    ),
    "untyped document": (
        _without(epcis_document(object_event()), "type"),
        {("", "required")},
    ),
    "lone event": (object_event(), {("", "required")}),  # outside a document it needs @context
    "lone event with context": ({"@context": "https://example.org/c", **object_event()}, set()),
    "master data document": (
        {"@context": "https://example.org/c", "type": "EPCISMasterDataDocument"},
        {("", "required"), ("/type", "enum")},
    ),
    "extension event type": (
        epcis_document(object_event(type="https://example.org/MyEvent", bizStep=5,
                                    anything="goes")),
        set(),
    ),
    "event type not a URI": (
        epcis_document(object_event(type="Objectevent")),
        {("/epcisBody/eventList/0/type", "enum")},
    ),
    "event type not a string": (
        epcis_document(object_event(type=7)),
        {("/epcisBody/eventList/0/type", "type")},
    ),
    "event not an object": (epcis_document("ObjectEvent"), {("/epcisBody/eventList/0", "type")}),
    "transformation with action": (
        epcis_document(object_event(type="TransformationEvent", inputEPCList=["urn:x:1"],
                         outputEPCList=["urn:x:2"])),
        {("/epcisBody/eventList/0/action", "propertyNames"),
         ("/epcisBody/eventList/0/epcList", "propertyNames")},
    ),
    "transformation with transformationID and inputs only": (
        epcis_document(_without(object_event(type="TransformationEvent", inputEPCList=["urn:x:1"],
                                  transformationID="urn:x:t"), "action", "epcList")),
        set(),
    ),
    "transformation with inputs only": (
        epcis_document(_without(object_event(type="TransformationEvent", inputEPCList=["urn:x:1"]),
                           "action", "epcList")),
        {("/epcisBody/eventList/0", "anyOf")},
    ),
    "aggregation DELETE without children": (
        epcis_document(_without(object_event(type="AggregationEvent", action="DELETE"), "epcList")),
        set(),
    ),
    "aggregation ADD without children": (
        epcis_document(_without(object_event(type="AggregationEvent", action="ADD", childEPCs=[]),
                           "epcList")),
        {("/epcisBody/eventList/0", "anyOf")},
    ),
    "association needs parentID": (
        epcis_document(_without(object_event(type="AssociationEvent", **_CHILD), "epcList",
                                "parentID")),
        {("/epcisBody/eventList/0", "required")},
    ),
    "transaction with empty epcList": (
        epcis_document(object_event(type="TransactionEvent", epcList=[],
                         bizTransactionList=[{"bizTransaction": "urn:x:po:1"}])),
        set(),
    ),
    "transaction with empty bizTransactionList": (
        epcis_document(object_event(type="TransactionEvent", bizTransactionList=[])),
        {("/epcisBody/eventList/0/bizTransactionList", "minItems")},
    ),
    "object event about sensors needs readPoint": (
        epcis_document(_without(object_event(sensorElementList=_SENSORS), "epcList")),
        {("/epcisBody/eventList/0", "anyOf")},
    ),
    "object event about sensors at a readPoint": (
        epcis_document(_without(object_event(sensorElementList=_SENSORS, readPoint=_READ_POINT),
                           "epcList")),
        set(),
    ),
    "object event with empty epcList": (epcis_document(object_event(epcList=[])), set()),
    "duplicate EPCs": (
        epcis_document(object_event(epcList=["urn:x:1", "urn:x:2", "urn:x:1"])),
        {("/epcisBody/eventList/0/epcList/2", "uniqueItems")},
    ),
    "persistentDisposition without set or unset": (
        epcis_document(object_event(persistentDisposition={})),
        {("/epcisBody/eventList/0/persistentDisposition", "anyOf")},
    ),
    "persistentDisposition with empty set": (
        epcis_document(object_event(persistentDisposition={"set": [], "x": 1})),
        {("/epcisBody/eventList/0/persistentDisposition/set", "minItems"),
         ("/epcisBody/eventList/0/persistentDisposition/x", "additionalProperties")},
    ),
    "ilmd with DELETE": (
        epcis_document(object_event(action="DELETE", ilmd={"ex:lot": "1", "lot": "2"})),
        {("/epcisBody/eventList/0/ilmd", "not"), ("/epcisBody/eventList/0/ilmd/lot",
                                                  "propertyNames")},
    ),
    "GS1 Web Vocabulary measurement type": (
        epcis_document(object_event(readPoint=_READ_POINT, sensorElementList=[
            {"sensorReport": [{"type": "https://gs1.org/voc/Temperature", "value": 1}]}])),
        {("/epcisBody/eventList/0/sensorElementList/0/sensorReport/0/type", "enum")},
    ),
    "CBV URN as a measurement type is just another URI": (
        epcis_document(object_event(readPoint=_READ_POINT, sensorElementList=[
            {"sensorReport": [{"type": "urn:epcglobal:cbv:x", "value": 1}]}])),
        set(),
    ),
    "query document": (
        {"@context": "https://example.org/c", "type": "EPCISQueryDocument",
         "epcisBody": {"queryResults": {"queryName": "SimpleEventQuery",
                                        "resultsBody": {"eventList": [object_event(action="ADDED")],
                                                        "extra": 1}}}},
        {("/epcisBody/queryResults/resultsBody/eventList/0/action", "enum"),
         ("/epcisBody/queryResults/resultsBody/extra", "propertyNames")},
    ),
    "query document without queryResults": (
        {"@context": "https://example.org/c", "type": "EPCISQueryDocument",
         "epcisBody": {"eventList": []}},
        {("/epcisBody", "required"), ("/epcisBody/eventList", "propertyNames")},
    ),
    "context forms": (
        {**epcis_document(object_event(**{"@context": ["https://example.org/c",
                                                       {"ex": "urn:x:"}, 5]})),
         "@context": ["https://example.org/c", "https://example.org/c"]},
        {("/@context/1", "uniqueItems"), ("/epcisBody/eventList/0/@context/2", "type")},
    ),
    "master data in the header": (
        {**epcis_document(object_event()), "epcisHeader": {"epcisMasterData": {"vocabularyList": [
            {"type": "urn:epcglobal:epcis:vtype:BusinessLocation", "vocabularyElementList": [
                {"id": "urn:x:loc", "attributes": [{"id": "urn:x:a", "attribute": True}],
                 "children": ["not a uri"]}]}]}}},
        {("/epcisHeader/epcisMasterData/vocabularyList/0/vocabularyElementList/0/attributes/0"
          "/attribute", "type"),
         ("/epcisHeader/epcisMasterData/vocabularyList/0/vocabularyElementList/0/children/0",
          "format.uri")},
    ),
}  # fmt: skip


@pytest.mark.refdata
@pytest.mark.parametrize("case", EDGE_CASES)
def test_edge_cases(case: str) -> None:
    document, expected = EDGE_CASES[case]
    assert pairs(strict_findings(document)) == expected
    assert mismatches(document) == []
