"""EPCIS XML <-> JSON-LD values: CBV terms, numbers, booleans, and malformed values."""

from __future__ import annotations

import pytest

from ionledger.epcis.xml import STANDARD_CONTEXT, read_document, write_document
from ionledger.errors import InvalidDocument
from xml_helpers import bare_document, epcis, object_event, only_event


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
    written = write_document({"@context": [STANDARD_CONTEXT], **bare_document([event])})
    for urn in (
        b"<bizStep>urn:epcglobal:cbv:bizstep:shipping<",
        b'type="urn:epcglobal:cbv:btt:po"',
        b'type="urn:epcglobal:cbv:sdt:owning_party"',
        b'type="gs1:Temperature"',
        b'component="cbv:Comp-x"',
        b"<set>urn:epcglobal:cbv:disp:in_transit</set>",
    ):
        assert urn in written


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
    written = write_document({"@context": [STANDARD_CONTEXT], **bare_document([bare])})
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
    written = write_document({"@context": [STANDARD_CONTEXT], **bare_document([with_colon])})
    assert b'xmlns:cbvmda="urn:epcglobal:cbv:mda:"' in written
    assert only_event(written) == with_colon
