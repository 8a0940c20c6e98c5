"""GS1-EPC-Format and GS1-CBV-XML-Format: returned identifiers as EPC URNs or GS1 Digital Links,
CBV values in XML as URNs or Web URIs (epcis/epc_format.py, applied by api/epcis.py render)."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from conftest import need_refdata, operator_headers
from factory import code, document, event, urn
from governance_kit import uscc
from ionledger.api.app import create_app
from ionledger.domain.gs1 import CompanyPrefixes
from ionledger.epcis.documents import events_of, read_document, write_xml
from ionledger.epcis.epc_format import (
    alternatives,
    apply_cbv_xml_format,
    apply_epc_format,
    format_event,
    to_digital_link,
    to_epc_urn,
)
from ionledger.epcis.hashid import document_hash_ids, event_hash_id
from ionledger.governance.registry import RegistryChange
from ionledger.ledger.note import Signer
from ionledger.services.registry import change_registry
from ionledger.settings import Settings
from ionledger.store.open import init_store
from ionledger.store.port import EventStore

LD = {"Content-Type": "application/ld+json"}

# One EPC of every scheme supported, and its Digital Link (GS1's own pairs where GS1 gives one:
# the openapi's sgtin, hashgen's epcisDocWithAllGS1Keys for sscc and the rest).
PAIRS = [
    ("urn:epc:id:sgtin:0614141.107346.2018", "https://id.gs1.org/01/10614141073464/21/2018"),
    ("urn:epc:id:sgtin:4012345.012345.a%2Fb!c", "https://id.gs1.org/01/04012345123456/21/a%2Fb%21c"),
    ("urn:epc:id:sscc:4012345.0000000333", "https://id.gs1.org/00/040123450000003338"),
    ("urn:epc:id:sgln:4012345.00011.987", "https://id.gs1.org/414/4012345000115/254/987"),
    ("urn:epc:id:sgln:4012345.00012.0", "https://id.gs1.org/414/4012345000122"),
    ("urn:epc:id:grai:4012345.66666.87", "https://id.gs1.org/8003/0401234566666387"),
    ("urn:epc:id:giai:4012345.AAbb", "https://id.gs1.org/8004/4012345AAbb"),
    ("urn:epc:id:gsrn:4012345.9876540000", "https://id.gs1.org/8018/401234598765400000"),
    ("urn:epc:id:gsrnp:4012345.0000098765", "https://id.gs1.org/8017/401234500000987658"),
    ("urn:epc:id:gdti:4012345.55555.98", "https://id.gs1.org/253/401234555555498"),
    ("urn:epc:id:cpi:4012345.ABC.123", "https://id.gs1.org/8010/4012345ABC/8011/123"),
    ("urn:epc:id:sgcn:4012345.99999.44", "https://id.gs1.org/255/401234599999044"),
    ("urn:epc:id:ginc:4012345.333", "https://id.gs1.org/401/4012345333"),
    ("urn:epc:id:gsin:4012345.999987654", "https://id.gs1.org/402/40123459999876541"),
    ("urn:epc:id:itip:4012345.012345.01.02.999", "https://id.gs1.org/8006/040123451234560102/21/999"),
    ("urn:epc:id:upui:4012345.012345.AB12", "https://id.gs1.org/01/04012345123456/235/AB12"),
    ("urn:epc:id:pgln:0614141.00001", "https://id.gs1.org/417/0614141000012"),
    ("urn:epc:class:lgtin:4054739.099914.20160711", "https://id.gs1.org/01/04054739999148/10/20160711"),
    ("urn:epc:idpat:sgtin:4054739.099914.*", "https://id.gs1.org/01/04054739999148"),
    ("urn:epc:idpat:grai:4012345.66666.*", "https://id.gs1.org/8003/04012345666663"),
    ("urn:epc:idpat:gdti:4012345.55555.*", "https://id.gs1.org/253/4012345555554"),
    ("urn:epc:idpat:sgcn:4012345.99999.*", "https://id.gs1.org/255/4012345999990"),
    ("urn:epc:idpat:cpi:4012345.ABC.*", "https://id.gs1.org/8010/4012345ABC"),
    ("urn:epc:idpat:itip:4012345.012345.01.02.*", "https://id.gs1.org/8006/040123451234560102"),
]  # fmt: skip
NOT_EPCS = [
    "urn:ionledger:gbt34014:03HPB0C1234567D5H0000001",
    "urn:uuid:00000000-0000-4000-8000-000000000001",
    "https://example.com/2024/01/05/page",
    "urn:epc:id:sgtin:0614141.107346",  # malformed: no serial
    "https://id.gs1.org/01/10614141073465/21/2018",  # wrong check digit
    "",
]


def _prefixes(*uris: str) -> CompanyPrefixes:
    """The company prefixes the URNs name (the field after the scheme)."""
    return CompanyPrefixes.of(*{u.split(":")[4].split(".")[0] for u in uris})


# --- identifiers -----------------------------------------------------------------------------


@pytest.mark.parametrize(("epc", "link"), PAIRS)
def test_every_scheme_converts_both_ways(epc: str, link: str) -> None:
    assert to_digital_link(epc) == link
    assert to_epc_urn(link, _prefixes(epc)) == epc
    assert to_epc_urn(to_digital_link(epc), _prefixes(epc)) == epc  # URN -> DL -> URN
    assert to_digital_link(to_epc_urn(link, _prefixes(epc))) == link  # DL -> URN -> DL
    assert epc in alternatives(link)
    assert link in alternatives(epc)


def test_every_epc_in_gs1s_documents_round_trips() -> None:
    """URN -> Digital Link -> URN is the identity for each EPC URN of GS1's examples."""
    found: set[str] = set()
    for root in ("gs1", "hashgen"):
        for path in need_refdata("epcis", root).rglob("*"):
            if path.suffix in (".json", ".jsonld", ".xml"):
                text = path.read_text(errors="ignore")
                found |= set(re.findall(r"urn:epc:(?:id|class|idpat):\w+:[^\s\"'<>,?\]]+", text))
    assert len(found) > 150
    schemes = set()
    for epc in found:
        link = to_digital_link(epc)
        assert link.startswith("https://id.gs1.org/"), epc
        assert to_epc_urn(link, _prefixes(epc)) == epc
        schemes.add(epc.split(":")[3])
    assert len(schemes) >= 15  # every scheme GS1 shows


def test_a_link_whose_company_prefix_is_unknown_stays_a_link() -> None:
    link = "https://id.gs1.org/01/10614141073464/21/2018"
    assert to_epc_urn(link) == link
    assert to_epc_urn(link, CompanyPrefixes.of("4012345")) == link
    # Another host and a query string: still the key (the URN drops what is not the EPC).
    assert to_epc_urn(
        "https://example.com/01/10614141073464/21/2018?17=250101", CompanyPrefixes.of("0614141")
    ) == "urn:epc:id:sgtin:0614141.107346.2018"  # fmt: skip


@pytest.mark.parametrize("uri", NOT_EPCS)
def test_other_identifiers_pass_unchanged(uri: str) -> None:
    assert to_digital_link(uri) == uri
    assert to_epc_urn(uri, CompanyPrefixes.of("0614141")) == uri


def test_every_split_of_a_link_is_an_alternative() -> None:
    """A Digital Link names its key without saying where the company prefix ends: each split is
    the same key, and the one the URN was written with is among them."""
    forms = alternatives("https://id.gs1.org/414/4012345000115/254/987")
    assert "urn:epc:id:sgln:4012345.00011.987" in forms
    assert "urn:epc:id:sgln:401234.500011.987" in forms
    assert len(forms) == 1 + 7
    gbt = urn(code("P"))
    assert alternatives(gbt) == [gbt]


# --- events and documents --------------------------------------------------------------------


def _gs1_event() -> dict[str, Any]:
    return event(
        epcList=["urn:epc:id:sgtin:0614141.107346.2018", urn(code("P"))],
        bizStep="shipping",
        disposition="in_transit",
        readPoint={"id": "urn:epc:id:sgln:0614141.07346.1234"},
        bizLocation={"id": "https://id.gs1.org/414/0614141008889"},
        quantityList=[{"epcClass": "urn:epc:class:lgtin:4012345.012345.998877", "quantity": 2}],
        sourceList=[{"type": "owning_party", "source": "urn:epc:id:pgln:0614141.00001"}],
        destinationList=[{"type": "location", "destination": "urn:epc:id:sgln:0614141.00777.0"}],
        bizTransactionList=[{"type": "po", "bizTransaction": "urn:epc:id:gdti:0614141.00001.16"}],
        sensorElementList=[
            {
                "sensorMetadata": {"deviceID": "urn:epc:id:giai:4000001.111"},
                "sensorReport": [
                    {
                        "type": "Temperature",
                        "value": 26.0,
                        "uom": "CEL",
                        "deviceID": "urn:epc:id:giai:4000001.112",
                    }
                ],
            }
        ],
        ilmd={"ion:originalCode": "urn:epc:id:sgtin:0614141.107346.1"},
    )


def test_format_event_converts_every_identifier_field_and_nothing_else() -> None:
    original = _gs1_event()
    kept = copy.deepcopy(original)
    out = format_event(original, to_digital_link)
    assert original == kept  # the input is not changed
    assert out["epcList"] == ["https://id.gs1.org/01/10614141073464/21/2018", kept["epcList"][1]]
    assert out["readPoint"]["id"] == "https://id.gs1.org/414/0614141073467/254/1234"
    assert out["bizLocation"] == kept["bizLocation"]  # already a Digital Link
    assert out["quantityList"][0] == {
        "epcClass": "https://id.gs1.org/01/04012345123456/10/998877", "quantity": 2
    }  # fmt: skip
    assert out["sourceList"][0] == {
        "type": "owning_party", "source": "https://id.gs1.org/417/0614141000012"
    }  # fmt: skip
    assert out["destinationList"][0]["destination"] == "https://id.gs1.org/414/0614141007776"
    assert (
        out["bizTransactionList"][0]["bizTransaction"] == "https://id.gs1.org/253/061414100001216"
    )
    element = out["sensorElementList"][0]
    assert element["sensorMetadata"]["deviceID"] == "https://id.gs1.org/8004/4000001111"
    assert element["sensorReport"][0]["deviceID"] == "https://id.gs1.org/8004/4000001112"
    assert out["ilmd"] == kept["ilmd"]  # user data is not an identifier field
    # Back to URNs with the company prefixes known: what was captured.
    back = format_event(out, lambda u: to_epc_urn(u, _prefixes(*_urns(kept))))
    assert back == {**kept, "bizLocation": {"id": "urn:epc:id:sgln:0614141.00888.0"}}


def _urns(value: Any) -> Iterator[str]:
    if isinstance(value, str) and value.startswith("urn:epc:"):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _urns(item)
    elif isinstance(value, list):
        for item in value:
            yield from _urns(item)


def test_gs1s_all_keys_document_keeps_its_reference_hashes_in_either_format() -> None:
    """Converting identifiers changes no event: the CBV 2.0 hash IDs (GS1's oracle) hold."""
    examples = need_refdata("epcis", "hashgen", "examples")
    for name in (
        "epcisDocWithAllGS1Keys",
        "epcisDocWithVariousEventTypes",
        "epclist_normalisation",
    ):
        source = examples / f"{name}.jsonld"
        expected = (examples / f"{name}.hashes").read_text().split()
        as_links = read_document(source.read_bytes())
        apply_epc_format(as_links, "Always_GS1_Digital_Link")
        assert document_hash_ids(as_links) == expected, name
        as_urns = copy.deepcopy(as_links)
        apply_epc_format(
            as_urns, "Always_EPC_URN", _prefixes(*_urns(read_document(source.read_bytes())))
        )
        assert document_hash_ids(as_urns) == expected, name
    # GS1 lists one SSCC twice, as a URN and as its Digital Link: written as URNs they agree.
    document = read_document((examples / "epcisDocWithAllGS1Keys.jsonld").read_bytes())
    apply_epc_format(document, "Always_EPC_URN", CompanyPrefixes.of("4012345", "4054739"))
    epcs = events_of(document)[0]["epcList"]
    assert epcs[1] == epcs[2] == "urn:epc:id:sscc:4012345.0000000333"
    assert not any(e.startswith("https:") for e in epcs)


def test_cbv_values_in_xml_as_web_uris_or_urns() -> None:
    stored = _gs1_event()
    stored["persistentDisposition"] = {"set": ["completeness_verified"], "unset": ["ion:retired"]}
    stored["errorDeclaration"] = {
        "declarationTime": "2024-03-02T00:00:00Z",
        "reason": "did_not_occur",
    }
    web = document([copy.deepcopy(stored)])
    apply_cbv_xml_format(web, "Always_Web_URI")
    one = events_of(web)[0]
    assert one["bizStep"] == "https://ref.gs1.org/cbv/BizStep-shipping"
    assert one["disposition"] == "https://ref.gs1.org/cbv/Disp-in_transit"
    assert one["persistentDisposition"] == {
        "set": ["https://ref.gs1.org/cbv/Disp-completeness_verified"], "unset": ["ion:retired"]
    }  # fmt: skip
    assert one["bizTransactionList"][0]["type"] == "https://ref.gs1.org/cbv/BTT-po"
    assert one["sourceList"][0]["type"] == "https://ref.gs1.org/cbv/SDT-owning_party"
    assert one["destinationList"][0]["type"] == "https://ref.gs1.org/cbv/SDT-location"
    assert one["errorDeclaration"]["reason"] == "https://ref.gs1.org/cbv/ER-did_not_occur"
    xml = write_xml(web).decode()
    assert "<bizStep>https://ref.gs1.org/cbv/BizStep-shipping</bizStep>" in xml
    # Web URIs back to URNs; either way the event is the same one (its hash ID).
    urns = copy.deepcopy(web)
    apply_cbv_xml_format(urns, "Always_URN")
    assert events_of(urns)[0]["bizStep"] == "urn:epcglobal:cbv:bizstep:shipping"
    assert "<bizStep>urn:epcglobal:cbv:bizstep:shipping</bizStep>" in write_xml(urns).decode()
    for variant in (web, urns):
        assert event_hash_id(events_of(variant)[0]) == event_hash_id(stored)


# --- over HTTP -------------------------------------------------------------------------------


@pytest.fixture
def node(tmp_path: Path) -> Iterator[tuple[TestClient, EventStore, dict[str, Any]]]:
    store = init_store(f"sqlite:///{tmp_path / 'f.db'}")
    app = create_app(
        Settings(database_url=store.url), store=store, signer=Signer.generate("ionledger.local")
    )
    stored = _gs1_event()
    client = TestClient(app, headers=operator_headers(store))
    with client:
        posted = client.post("/capture", content=json.dumps(document([stored])), headers=LD)
        assert client.get(posted.headers["Location"]).json()["success"]
        yield client, store, stored
    store.close()


def _events(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    return events_of(response.json())


def test_events_are_served_as_digital_links_by_default(
    node: tuple[TestClient, EventStore, dict[str, Any]],
) -> None:
    client, store, stored = node
    identity = quote(stored["eventID"], safe="")
    for path in ("/events", f"/events/{identity}", "/bizSteps/shipping/events"):
        response = client.get(path)
        assert response.headers["GS1-EPC-Format"] == "Always_GS1_Digital_Link"
        assert "GS1-CBV-XML-Format" not in response.headers  # XML only
        served = _events(response)[0]
        assert served["epcList"][0] == "https://id.gs1.org/01/10614141073464/21/2018"
        assert served["epcList"][1] == stored["epcList"][1]  # a GB/T code: no GS1 key
        assert served["readPoint"]["id"] == "https://id.gs1.org/414/0614141073467/254/1234"
    # The store keeps what was captured.
    assert json.loads(store.event(stored["eventID"]).doc)["epcList"] == stored["epcList"]  # type: ignore[union-attr]


def test_events_as_captured_or_as_urns(node: tuple[TestClient, EventStore, dict[str, Any]]) -> None:
    client, _, stored = node
    kept = client.get("/events", headers={"GS1-EPC-Format": "Never_Translates"})
    assert kept.headers["GS1-EPC-Format"] == "Never_Translates"
    served = _events(kept)[0]
    assert {k: served[k] for k in stored if k != "recordTime"} == stored
    nothing = client.get("/events", headers={"GS1-EPC-Format": "No_Preference"})
    assert nothing.headers["GS1-EPC-Format"] == "Never_Translates"
    # Without company prefixes a Digital Link cannot become a URN: the captured one stays.
    urns = client.get("/events", headers={"GS1-EPC-Format": "Always_EPC_URN"})
    assert urns.headers["GS1-EPC-Format"] == "Always_EPC_URN"
    assert _events(urns)[0]["bizLocation"]["id"] == "https://id.gs1.org/414/0614141008889"
    assert _events(urns)[0]["epcList"] == stored["epcList"]
    client.app.state.company_prefixes = CompanyPrefixes.of("0614141")  # type: ignore[attr-defined]
    urns = client.get("/events", headers={"GS1-EPC-Format": "Always_EPC_URN"})
    assert _events(urns)[0]["bizLocation"]["id"] == "urn:epc:id:sgln:0614141.00888.0"


def test_the_registry_supplies_the_company_prefixes(
    node: tuple[TestClient, EventStore, dict[str, Any]],
) -> None:
    """An enterprise registered with its GS1 company prefix: its keys can be written as URNs."""
    client, store, _ = node
    urns = client.get("/events", headers={"GS1-EPC-Format": "Always_EPC_URN"})
    assert _events(urns)[0]["bizLocation"]["id"].startswith("https://id.gs1.org/")
    acme = {"id": "ACME", "name": "Acme Cells", "registryId": uscc(1), "roles": ["battery_maker"],
            "province": "CN-FJ", "companyPrefixes": ["0614141"]}  # fmt: skip
    change_registry(store, [RegistryChange("enterprise.put", acme)], actor="operator")
    urns = client.get("/events", headers={"GS1-EPC-Format": "Always_EPC_URN"})
    assert _events(urns)[0]["bizLocation"]["id"] == "urn:epc:id:sgln:0614141.00888.0"
    assert _events(urns)[0]["epcList"][0] == "urn:epc:id:sgtin:0614141.107346.2018"


def test_xml_carries_the_cbv_format_too(
    node: tuple[TestClient, EventStore, dict[str, Any]],
) -> None:
    client, _, _ = node
    headers = {"Accept": "application/xml", "GS1-CBV-XML-Format": "Always_Web_URI"}
    response = client.get("/events", headers=headers)
    assert response.headers["GS1-CBV-XML-Format"] == "Always_Web_URI"
    assert response.headers["GS1-EPC-Format"] == "Always_GS1_Digital_Link"
    assert "<bizStep>https://ref.gs1.org/cbv/BizStep-shipping</bizStep>" in response.text
    assert "<epc>https://id.gs1.org/01/10614141073464/21/2018</epc>" in response.text
    plain = client.get("/events", headers={"Accept": "application/xml"})
    assert plain.headers["GS1-CBV-XML-Format"] == "Never_Translates"
    assert "<bizStep>urn:epcglobal:cbv:bizstep:shipping</bizStep>" in plain.text


def test_what_is_served_can_be_asked_for(
    node: tuple[TestClient, EventStore, dict[str, Any]],
) -> None:
    """Identifiers come back as Digital Links; given back in a query, they still find the
    events captured with URNs (and the other way round)."""
    client, _, stored = node
    served = _events(client.get("/events"))[0]
    for params in (
        {"EQ_readPoint": served["readPoint"]["id"]},
        {"EQ_readPoint": stored["readPoint"]["id"]},
        {"EQ_bizLocation": "urn:epc:id:sgln:0614141.00888.0"},  # captured as a Digital Link
        {"MATCH_epc": served["epcList"][0]},
        {"MATCH_anyEPC": f"{served['epcList'][0]}|urn:epc:id:sscc:0614141.1234567890"},
        {"WD_readPoint": served["readPoint"]["id"]},
    ):
        assert [e["eventID"] for e in _events(client.get("/events", params=params))] == [
            stored["eventID"]
        ], params
    other = {"EQ_readPoint": "urn:epc:id:sgln:0614141.07346.1"}  # another extension
    assert _events(client.get("/events", params=other)) == []
    for resource, value in (
        ("readPoints", served["readPoint"]["id"]),
        ("epcs", served["epcList"][0]),
    ):
        path = f"/{resource}/{quote(value, safe='')}"
        assert len(_events(client.get(f"{path}/events"))) == 1
        assert client.get(path).json()["member"] == ["events"]
    members = client.get("/readPoints").json()["member"]
    assert members == [served["readPoint"]["id"]]
    assert client.get("/readPoints", headers={"GS1-EPC-Format": "Never_Translates"}).json()[
        "member"
    ] == [stored["readPoint"]["id"]]


def test_named_query_results_and_streams_follow_the_format(
    node: tuple[TestClient, EventStore, dict[str, Any]],
) -> None:
    client, _, stored = node
    assert client.post("/queries", json={"name": "q", "query": {}}).status_code == 201
    served = _events(client.get("/queries/q/events"))[0]
    assert served["epcList"][0] == "https://id.gs1.org/01/10614141073464/21/2018"
    url = "/queries/q/subscriptions?stream=true&initialRecordTime=2000-01-01T00:00:00Z"
    for headers, first in (
        ({}, "https://id.gs1.org/01/10614141073464/21/2018"),
        ({"GS1-EPC-Format": "Never_Translates"}, stored["epcList"][0]),
    ):
        with client.websocket_connect(url, headers=headers) as ws:
            message = json.loads(ws.receive_text())
        assert events_of(message)[0]["epcList"][0] == first
