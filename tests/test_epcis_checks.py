"""Bad events: every rejection names the event's index, the field path and a reason."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import msgspec
import pytest

from conftest import ROOT
from ionledger.epcis.checks import (
    MAX_EVENT_BYTES,
    MAX_LIST_ITEMS,
    MAX_URI_CHARS,
    check_event,
    event_errors,
)
from ionledger.epcis.codec import decode_event
from ionledger.epcis.model import Event, ObjectEvent, raw_extensions
from ionledger.errors import InvalidEvent

INDEX = 7  # the event's position in its (imaginary) document
Edit = Callable[[dict[str, Any]], object]


def example_event(stage: str) -> dict[str, Any]:
    document = json.loads((ROOT / "docs" / "examples" / f"{stage}.jsonld").read_text())
    event: dict[str, Any] = document["epcisBody"]["eventList"][0]
    return event


def decoded(event: dict[str, Any]) -> Event:
    return decode_event(json.dumps(event).encode(), INDEX)


def errors_of(stage: str, edit: Edit) -> list[tuple[str, str]]:
    """(field, reason) of every problem after ``edit`` changed the stage's example event."""
    event = copy.deepcopy(example_event(stage))
    edit(event)
    found = event_errors(decoded(event), INDEX)
    assert all(error.index == INDEX for error in found)
    return [(error.field, error.reason) for error in found]


def decode_error(event: dict[str, Any] | bytes) -> InvalidEvent:
    raw = event if isinstance(event, bytes) else json.dumps(event).encode()
    with pytest.raises(InvalidEvent) as caught:
        decode_event(raw, INDEX)
    assert caught.value.index == INDEX
    return caught.value


def report(event: dict[str, Any], i: int = 0) -> dict[str, Any]:
    report: dict[str, Any] = event["sensorElementList"][0]["sensorReport"][i]
    return report


# --- what the decoder rejects ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("edit", "field", "reason"),
    [
        (
            lambda e: e.update(epcList=["urn:x:1", "urn:x:2", "urn:x:3", 4]),
            "epcList[3]",
            "expected a string, got an integer",
        ),
        (
            lambda e: report(e, 1).update(value="117.6"),
            "sensorElementList[0].sensorReport[1].value",
            "expected a number, got a string",
        ),
        (lambda e: e.update(action=1), "action", "expected a string, got an integer"),
        (
            lambda e: e.update(readPoint="urn:epc:id:sgln:6956789.00003.5"),
            "readPoint",
            "expected an object, got a string",
        ),
        (lambda e: e.update(readPoint={}), "readPoint.id", "required field is missing"),
        (
            lambda e: e.update(quantityList=[{"epcClass": "urn:x:c", "qty": 1}]),
            "quantityList[0].qty",
            "unknown field; the standard allows no extension fields in this object",
        ),
        (
            lambda e: e.update(certificationInfo=5),
            "certificationInfo",
            "expected a string or an array, got an integer",
        ),
        (
            lambda e: e.update({"ion:province": 44}),
            "ion:province",
            "expected a string, got an integer",
        ),
    ],
    ids=[
        "epc",
        "sensor-value",
        "action",
        "readPoint",
        "readPoint-id",
        "closed",
        "cert",
        "province",
    ],
)
def test_wrong_types(edit: Edit, field: str, reason: str) -> None:
    event = copy.deepcopy(example_event("testing"))
    edit(event)
    error = decode_error(event)
    assert (error.field, error.reason) == (field, reason)


def test_wrong_type_behind_an_extension_field_is_still_found() -> None:
    event = example_event("testing") | {"ex:note": {"a": 1}, "epcList": [1]}
    error = decode_error(event)
    assert (error.field, error.reason) == ("epcList[0]", "expected a string, got an integer")


def test_unknown_event_type() -> None:
    error = decode_error(example_event("repair") | {"type": "Foo"})
    assert error.field == "type"
    assert error.reason == (
        "unknown event type 'Foo'; expected one of ObjectEvent, AggregationEvent, "
        "TransactionEvent, TransformationEvent, AssociationEvent"
    )


def test_missing_event_type() -> None:
    event = example_event("repair")
    del event["type"]
    error = decode_error(event | {"ex:other": 1})
    assert error.field == "type"
    assert error.reason.startswith("missing event type; expected one of ObjectEvent")


@pytest.mark.parametrize(
    "raw", [b'{"type":"ObjectEvent",', b"[1]", b"", b'{"type":"ObjectEvent","ex:a":1,'], ids=str
)
def test_unreadable_event(raw: bytes) -> None:
    error = decode_error(raw)
    assert error.reason.startswith(("malformed JSON", "expected an object"))
    assert error.field == ""


def test_oversize_event_is_refused_before_decoding() -> None:
    event = example_event("repair") | {"ex:padding": "x" * MAX_EVENT_BYTES}
    error = decode_error(event)
    assert error.field == ""
    assert error.reason.endswith(f"the limit is {MAX_EVENT_BYTES:,}")


# --- what the checks reject -----------------------------------------------------------------


def test_examples_pass() -> None:
    for path in sorted((ROOT / "docs" / "examples").glob("*.jsonld")):
        assert errors_of(path.stem, lambda e: None) == [], path.stem


def drop(*keys: str) -> Edit:
    return lambda event: [event.pop(key) for key in keys]


def put(**values: Any) -> Edit:
    return lambda event: event.update(values)


MISSING = "required field is missing"
NEEDS_IO = "a TransformationEvent needs inputs and outputs "


@pytest.mark.parametrize(
    ("stage", "edit", "field", "reason"),
    [
        ("repair", drop("action"), "action", f"{MISSING} (every ObjectEvent has an action)"),
        ("repair", drop("eventTime"), "eventTime", MISSING),
        ("repair", drop("eventTimeZoneOffset"), "eventTimeZoneOffset", MISSING),
        ("installation", drop("parentID"), "parentID", f"{MISSING} (for this AssociationEvent)"),
        ("aggregation", drop("parentID"), "parentID", f"{MISSING} (for this AggregationEvent)"),
        ("installation", drop("childEPCs"), "childEPCs", "an AssociationEvent needs childEPCs "
         "or childQuantityList"),
        ("repair", drop("epcList"), "epcList", "an ObjectEvent needs epcList or quantityList "
         "(or sensor data with a readPoint)"),
        ("repurposing", drop("outputEPCList", "transformationID"), "outputEPCList", NEEDS_IO
         + "(or a transformationID and at least one of them)"),
        ("repurposing", drop("inputEPCList", "outputEPCList"), "inputEPCList",
         "a TransformationEvent needs inputs or outputs"),
        ("repair", put(type="TransactionEvent"), "bizTransactionList",
         "a TransactionEvent needs at least one"),
        ("repair", put(action="add"), "action", "must be ADD, OBSERVE or DELETE, got 'add'"),
        ("repair", put(persistentDisposition={}), "persistentDisposition",
         "needs a non-empty set or unset"),
        ("testing", put(eventTime="2026-01-06T11:20:00"), "eventTime",
         "'2026-01-06T11:20:00' has no timezone offset; EPCIS requires one (Z or ±HH:MM)"),
        ("testing", put(eventTime="2026-02-30T11:20:00Z"), "eventTime",
         "not a valid date-time: '2026-02-30T11:20:00Z' (day is out of range for month)"),
        ("testing", put(recordTime="06/01/2026"), "recordTime",
         "not an RFC 3339 date-time with offset: '06/01/2026'"),
        ("testing", lambda e: e["sensorElementList"][0]["sensorMetadata"].update(time="2026-01-06"),
         "sensorElementList[0].sensorMetadata.time",
         "not an RFC 3339 date-time with offset: '2026-01-06'"),
        ("testing", put(eventTimeZoneOffset="+8:00"), "eventTimeZoneOffset",
         "must be ±HH:MM between -14:00 and +14:00, got '+8:00'"),
    ],
)  # fmt: skip
def test_required_fields_and_times(stage: str, edit: Edit, field: str, reason: str) -> None:
    assert errors_of(stage, edit) == [(field, reason)]


def test_lower_case_rfc3339_is_accepted() -> None:
    assert errors_of("testing", lambda e: e.update(eventTime="2026-01-06t03:20:00z")) == []


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            lambda e: report(e).update(value=120),
            (
                "sensorElementList[0].sensorReport[0].value",
                "state of health is a percentage (0..100), got 120",
            ),
        ),
        (
            lambda e: report(e).update(minValue=-1),
            (
                "sensorElementList[0].sensorReport[0].minValue",
                "state of health is a percentage (0..100), got -1",
            ),
        ),
        (
            lambda e: report(e).update(
                type="https://ionledger.org/voc/StateOfHealth", maxValue=100.5
            ),
            (
                "sensorElementList[0].sensorReport[0].maxValue",
                "state of health is a percentage (0..100), got 100.5",
            ),
        ),
        (
            lambda e: report(e).update(uom="AMH"),
            (
                "sensorElementList[0].sensorReport[0].uom",
                "state of health is in percent (uom P1), got 'AMH'",
            ),
        ),
    ],
    ids=["soh-120", "soh-min", "soh-iri", "soh-uom"],
)
def test_absurd_state_of_health(edit: Edit, expected: tuple[str, str]) -> None:
    assert errors_of("testing", edit) == [expected]


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        ("ion:massKg", -5, "must be greater than 0 kg, got -5"),
        ("ion:massKg", 0, "must be greater than 0 kg, got 0"),
        ("ion:massKg", 25_000, "implausibly large: 25000 kg (the limit is 10,000)"),
        ("ion:ratedEnergyKWh", 60_000, "implausibly large: 60000 kWh (the limit is 2,000)"),
        ("ion:capacityAh", 150_000.0, "implausibly large: 150000.0 Ah (the limit is 10,000)"),
        ("ion:massKg", "392.5", "must be a number (in kg), got '392.5'"),
        ("ion:capacityAh", True, "must be a number (in Ah), got True"),
        ("https://ionledger.org/voc/massKg", -1, "must be greater than 0 kg, got -1"),
    ],
)
def test_absurd_ilmd(key: str, value: Any, reason: str) -> None:
    assert errors_of("commissioning", lambda e: e["ilmd"].update({key: value})) == [
        (f"ilmd.{key}", reason)
    ]


def test_negative_quantities() -> None:
    def edit(event: dict[str, Any]) -> None:
        event["outputQuantityList"][2]["quantity"] = -4.53
        event["outputQuantityList"][3]["uom"] = "kilogram"
        event["inputQuantityList"] = [{"epcClass": "urn:ionledger:material:Li", "uom": "KGM"}]

    assert errors_of("recycling", edit) == [
        ("inputQuantityList[0].uom", "a unit of measure without a quantity"),
        ("outputQuantityList[2].quantity", "must not be negative, got -4.53"),
        ("outputQuantityList[3].uom", "not a UN/ECE Rec. 20 code: 'kilogram'"),
    ]


def test_duplicate_epcs() -> None:
    def edit(event: dict[str, Any]) -> None:
        event["childEPCs"] = [*event["childEPCs"], event["childEPCs"][0], event["childEPCs"][0]]

    epc = example_event("dismantling")["childEPCs"][0]
    assert errors_of("dismantling", edit) == [
        ("childEPCs[8]", f"duplicate EPC {epc!r} (first at childEPCs[0])"),
        ("childEPCs[9]", f"duplicate EPC {epc!r} (first at childEPCs[0])"),
    ]


def test_oversize_string() -> None:
    long_uri = "urn:x:" + "a" * 3000
    expected = [("epcList[2]", f"{len(long_uri):,} characters; the limit is {MAX_URI_CHARS:,}")]
    assert errors_of("sale", lambda e: e["epcList"].append(long_uri)) == expected
    nested = errors_of("testing", lambda e: e["readPoint"].update(id=long_uri))
    assert nested == [
        ("readPoint.id", f"{len(long_uri):,} characters; the limit is {MAX_URI_CHARS:,}")
    ]


def test_oversize_list_and_event_built_in_code() -> None:
    epcs = [f"urn:x:{i}" for i in range(MAX_LIST_ITEMS + 1)]
    event = msgspec.structs.replace(decoded(example_event("sale")), epc_list=epcs)
    found = [(e.field, e.reason) for e in event_errors(event, INDEX)]
    size = len(msgspec.json.encode(event))
    assert found == [
        ("", f"event is {size:,} bytes; the limit is {MAX_EVENT_BYTES:,}"),
        ("epcList", f"{MAX_LIST_ITEMS + 1:,} entries; the limit is {MAX_LIST_ITEMS:,}"),
    ]


def test_project_extension_fields() -> None:
    def edit(event: dict[str, Any]) -> None:
        event["ion:province"] = "CN-XX"
        event["ion:reportedBy"] = " "

    assert errors_of("repair", edit) == [
        ("ion:province", "not an ISO 3166-2:CN province code: 'CN-XX'"),
        ("ion:reportedBy", "must name the reporting enterprise, got an empty string"),
    ]


def test_extension_may_not_shadow_a_declared_field() -> None:
    event = ObjectEvent(
        event_time="2026-01-06T11:20:00Z",
        event_time_zone_offset="+08:00",
        epc_list=[],
        action="OBSERVE",
        extensions=raw_extensions({"eventTime": "1999-01-01T00:00:00Z"}),
    )
    found = [(e.field, e.reason) for e in event_errors(event, INDEX)]
    assert found == [("eventTime", "an extension field may not reuse a declared field's name")]


def test_all_problems_at_once_and_check_event_raises_the_first() -> None:
    def edit(event: dict[str, Any]) -> None:
        del event["action"]
        event["eventTimeZoneOffset"] = "CST"
        report(event).update(value=120)
        event["epcList"] *= 2

    event = copy.deepcopy(example_event("testing"))
    edit(event)
    fields = [field for field, _ in errors_of("testing", edit)]
    assert fields == [
        "action",
        "eventTimeZoneOffset",
        "sensorElementList[0].sensorReport[0].value",
        "epcList[1]",
    ]
    with pytest.raises(InvalidEvent) as caught:
        check_event(decoded(event), INDEX)
    assert (caught.value.index, caught.value.field) == (INDEX, "action")
    assert caught.value.details() == {
        "index": INDEX,
        "field": "action",
        "reason": "required field is missing (every ObjectEvent has an action)",
    }


def test_ilmd_on_an_observe_event_is_tolerated_with_a_warning() -> None:
    """GS1's own all-fields example carries ILMD on an OBSERVE event: kept, and flagged."""
    from ionledger.epcis.checks import event_warnings

    repair = copy.deepcopy(example_event("repair"))
    repair["ilmd"] = {"ion:massKg": 390}
    decoded = decode_event(json.dumps(repair).encode(), 0)
    assert event_errors(decoded, 0) == []
    assert event_warnings(decoded) == [
        ("ilmd", "ILMD describes new objects: only an ADD ObjectEvent carries it")
    ]
