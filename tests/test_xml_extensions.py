"""EPCIS XML <-> JSON-LD user extensions, query documents, and what XML cannot hold."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ionledger.epcis.xml import STANDARD_CONTEXT, read_document, read_events, write_document
from ionledger.errors import InvalidDocument
from xml_helpers import (
    EXTENSION_XML,
    Doc,
    as_query_document,
    bare_document,
    events_of,
    valid_or_no_xsd,
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
    written = write_document({"@context": context, **bare_document([event])})
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
    written = write_document({"@context": context, **bare_document([event])})
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
        **bare_document(
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
        written = write_document({"@context": context, **bare_document([event])})
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
