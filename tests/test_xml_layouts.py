"""EPCIS 1.x documents and other XML layouts met in the wild, read into the 2.0 form."""

from __future__ import annotations

from ionledger.epcis.hashid import document_hash_ids, event_hash_id
from ionledger.epcis.xml import read_document, read_events, write_document
from xml_helpers import epcis, events_of, object_event, valid_or_no_xsd

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
