"""Lenient normalisation: what it tolerates strict then accepts; the rest it leaves alone."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from conftest import need_refdata
from ionledger.epcis.lenient import Tolerated, normalise_document, normalise_event
from ionledger.epcis.strict import Finding, strict_findings
from strict_oracle import (
    BATTERY,
    SIMPLE,
    battery_documents,
    epcis_document,
    load,
    object_event,
    pairs,
    resolve,
)


def _tolerated_kinds(findings: list[Finding]) -> set[str]:
    """The pointers of the findings that lenient is meant to remove."""
    return {
        f.pointer
        for f in findings
        if "CBV 1.x URN" in f.message
        or (f.rule == "type" and f.message.endswith("requires a number"))
    }


def _assert_normalised(document: dict[str, Any]) -> tuple[dict[str, Any], list[Tolerated]]:
    before = copy.deepcopy(document)
    fixed, tolerated = normalise_document(document)
    assert document == before  # the input is left alone
    again, more = normalise_document(fixed)
    assert again == fixed
    assert more == []
    assert not _tolerated_kinds(strict_findings(fixed))
    return fixed, tolerated


@pytest.mark.refdata
def test_lenient_battery_documents() -> None:
    for path in battery_documents():
        document = load(path)
        expected = _tolerated_kinds(strict_findings(document))
        fixed, tolerated = _assert_normalised(document)
        assert {t.pointer for t in tolerated} == expected, path.name
        assert len(tolerated) == len(expected)
        for t in tolerated:
            assert t.rule in ("number-as-string", "cbv1-urn")
            assert t.event == int(t.pointer.split("/")[3])
            before, after = resolve(document, t.pointer), resolve(fixed, t.pointer)
            assert isinstance(before, str)
            assert before != after
            assert repr(before) in t.message
            assert repr(after) in t.message
        # What lenient does not touch is still there, shared, and still reported.
        assert fixed["@context"] is document["@context"]
        assert fixed["_comment_architecture"] is document["_comment_architecture"]
        assert ("/_comment_architecture", "propertyNames") in pairs(strict_findings(fixed))
    soh, tolerated = normalise_document(load(need_refdata(*BATTERY, "state-of-health.jsonld")))
    assert tolerated[0] == Tolerated(
        "/epcisBody/eventList/0/sensorElementList/0/sensorReport/0/value",
        "number-as-string",
        "sensorReport value '94.2' given as a string; read as the number 94.2",
        0,
    )
    assert soh["epcisBody"]["eventList"][0]["sensorElementList"][0]["sensorReport"][0][
        "value"
    ] == pytest.approx(94.2)


@pytest.mark.refdata
def test_lenient_gs1_slips() -> None:
    def normalised(*parts: str) -> tuple[list[Finding], list[tuple[str, str]]]:
        fixed, tolerated = _assert_normalised(load(need_refdata("epcis", *SIMPLE, *parts)))
        return strict_findings(fixed), [(t.pointer, t.rule) for t in tolerated]

    findings, tolerated = normalised("WithSensorData", "SensorDataExample17.jsonld")
    assert tolerated == [("/schemaVersion", "schemaVersion-number")]
    assert "/schemaVersion" not in {f.pointer for f in findings}
    findings, tolerated = normalised("WithSensorData", "SensorDataExample12.jsonld")
    assert tolerated == [("", "schemaVersion-missing")]
    assert [f.message for f in findings if f.pointer == ""] == [
        "epcisDocument requires 'creationDate'"  # not invented
    ]
    findings, tolerated = normalised("Example-TransactionEvents-2020_07_03y.jsonld")
    assert tolerated == [
        ("/epcisBody/eventList/1/sourceList", "single-as-list"),
        ("/epcisBody/eventList/1/destinationList", "single-as-list"),
    ]
    assert findings == []
    findings, tolerated = normalised(
        "WithFullCombinationOfFields", "object_event_all_possible_fields.jsonld"
    )
    assert tolerated == []  # ilmd with OBSERVE: dropping it or changing action would invent data
    assert ("/epcisBody/eventList/0/ilmd", "not") in pairs(findings)


def test_lenient_does_not_invent_values() -> None:
    odd = ["n/a", "1,5", "NaN", "Infinity", " 5", "5 ", "+5", "05", "1e999", "0x10", "", "1."]
    reports = [{"type": "Temperature", "value": text} for text in odd]
    quantity = {"epcClass": "urn:epc:class:lgtin:4012345.012345.998877", "quantity": "1,5"}
    document = epcis_document(
        object_event(
            bizStep="urn:epcglobal:cbv:bizstep:teleporting",  # no such CBV term
            disposition="urn:epcglobal:cbv:bizstep:shipping",  # a bizStep URN in disposition
            quantityList=[quantity],
            readPoint={"id": "urn:epc:id:sgln:0614141.00777.0"},
            sensorElementList=[{"sensorReport": reports}],
        )
    )
    fixed, tolerated = normalise_document(document)
    assert tolerated == []
    assert fixed == document
    pointers = {f.pointer for f in strict_findings(fixed)}
    event = "/epcisBody/eventList/0"
    assert {
        f"{event}/bizStep",
        f"{event}/disposition",
        f"{event}/quantityList/0/quantity",
    }.issubset(pointers)
    assert {f"{event}/sensorElementList/0/sensorReport/{i}/value" for i in range(len(odd))} <= (
        pointers
    )


def test_lenient_reads_json_numbers_as_json_would() -> None:
    texts = ["0", "-0", "847", "-12", "94.2", "1e3", "2.5E-3", "12345678901234567890"]
    reports = [{"type": "Temperature", "value": text} for text in texts]
    event = object_event(sensorElementList=[{"sensorReport": reports}])
    fixed, tolerated = normalise_event(event, 3, "/epcisBody/eventList/3")
    values = [r["value"] for r in fixed["sensorElementList"][0]["sensorReport"]]
    assert values == [json.loads(t) for t in texts]
    assert [type(v) for v in values] == [type(json.loads(t)) for t in texts]
    assert [t.pointer for t in tolerated] == [
        f"/epcisBody/eventList/3/sensorElementList/0/sensorReport/{i}/value"
        for i in range(len(texts))
    ]
    assert {t.event for t in tolerated} == {3}
    assert fixed is not event
    assert fixed["epcList"] is event["epcList"]


def test_lenient_cbv1_urns_of_every_vocabulary() -> None:
    event = object_event(
        bizStep="urn:epcglobal:cbv:bizstep:shipping",
        disposition="urn:epcglobal:cbv:disp:in_transit",
        persistentDisposition={"set": ["urn:epcglobal:cbv:disp:completeness_verified"]},
        bizTransactionList=[{"type": "urn:epcglobal:cbv:btt:po", "bizTransaction": "urn:x:po:1"}],
        sourceList=[{"type": "urn:epcglobal:cbv:sdt:owning_party", "source": "urn:x:party:1"}],
        destinationList=[{"type": "urn:epcglobal:cbv:sdt:location", "destination": "urn:x:l:1"}],
        errorDeclaration={
            "declarationTime": "2024-03-02T10:00:00Z",
            "reason": "urn:epcglobal:cbv:er:incorrect_data",
        },
    )
    document = epcis_document(event)
    urns = _tolerated_kinds(strict_findings(document))
    assert len(urns) == 7
    fixed, tolerated = _assert_normalised(document)
    assert {t.pointer for t in tolerated} == urns
    assert strict_findings(fixed) == []
    fixed_event = fixed["epcisBody"]["eventList"][0]
    assert fixed_event["bizStep"] == "shipping"
    assert fixed_event["persistentDisposition"] == {"set": ["completeness_verified"]}
    assert fixed_event["errorDeclaration"]["reason"] == "incorrect_data"
