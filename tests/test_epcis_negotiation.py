"""EPCIS / CBV version negotiation (GS1-EPCIS-Version/-Min/-Max, GS1-CBV-...) on every EPCIS
endpoint, and the format headers' values (api/negotiation.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketDenialResponse

from conftest import operator_headers
from factory import code, document, lifecycle
from ionledger.api.app import create_app
from ionledger.api.negotiation import (
    BadHeader,
    Negotiated,
    UnsupportedVersion,
    negotiated,
)
from ionledger.ledger.note import Signer
from ionledger.settings import Settings
from ionledger.store.open import init_store
from ionledger.store.port import EventStore

LD = {"Content-Type": "application/ld+json"}


@pytest.fixture
def node(tmp_path: Path) -> Iterator[tuple[TestClient, EventStore]]:
    store = init_store(f"sqlite:///{tmp_path / 'n.db'}")
    app = create_app(
        Settings(database_url=store.url), store=store, signer=Signer.generate("ionledger.local")
    )
    client = TestClient(app, headers=operator_headers(store))
    with client:
        posted = client.post(
            "/capture", content=json.dumps(document(lifecycle(code("P"), [code("M")]))), headers=LD
        )
        assert posted.status_code == 202
        client.post("/queries", json={"name": "q", "query": {"eventType": ["ObjectEvent"]}})
        yield client, store
    store.close()


# --- the rules -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"GS1-EPCIS-Version": "2.0.0"},
        {"GS1-EPCIS-Version": "2.0"},
        {"GS1-EPCIS-Version": "2"},
        {"GS1-EPCIS-Min": "1.0.0", "GS1-EPCIS-Max": "2.0.0"},  # the openapi's examples
        {"GS1-EPCIS-Min": "2.0.0", "GS1-EPCIS-Max": "2.1"},
        {"GS1-CBV-Version": "2.0.0", "GS1-CBV-Min": "1.2.0", "GS1-CBV-Max": "2.0.0"},
        {"GS1-EPCIS-Min": " 1.2 "},
    ],
)
def test_ranges_that_include_2_0_0_are_served(headers: dict[str, str]) -> None:
    assert negotiated(headers) == Negotiated()


@pytest.mark.parametrize(
    "headers",
    [
        {"GS1-EPCIS-Version": "1.2.0"},
        {"GS1-EPCIS-Version": "2.0.1"},
        {"GS1-EPCIS-Min": "2.1"},
        {"GS1-EPCIS-Max": "1.2.0"},
        {"GS1-EPCIS-Min": "2.0.1", "GS1-EPCIS-Max": "2.0.0"},  # an empty range
        {"GS1-CBV-Version": "1.2"},
        {"GS1-CBV-Min": "2.1.0"},
        {"GS1-CBV-Max": "1.2.0"},
    ],
)
def test_ranges_that_exclude_2_0_0_are_not_acceptable(headers: dict[str, str]) -> None:
    with pytest.raises(UnsupportedVersion) as refused:
        negotiated(headers)
    problem = refused.value.problem()
    assert refused.value.status == 406
    assert problem["type"] == "epcisException:NotAcceptableException"
    assert next(iter(headers)) in problem["detail"]


@pytest.mark.parametrize(
    "headers",
    [
        {"GS1-EPCIS-Version": "two"},
        {"GS1-CBV-Min": "2.0.x"},
        {"GS1-EPC-Format": "Always_Barcode"},
        {"GS1-CBV-XML-Format": "Always_CURIE"},
    ],
)
def test_values_the_binding_does_not_define_are_bad_requests(headers: dict[str, str]) -> None:
    with pytest.raises(BadHeader) as bad:
        negotiated(headers)
    assert bad.value.status == 400
    assert bad.value.problem()["type"] == "epcisException:ValidationException"


def test_format_headers_default_as_the_openapi_says_and_ignore_case() -> None:
    assert negotiated({}).epc_format == "Always_GS1_Digital_Link"
    assert negotiated({}).cbv_xml_format == "No_Preference"
    chosen = negotiated({"GS1-EPC-Format": "always_epc_urn", "GS1-CBV-XML-Format": "Always_URN"})
    assert (chosen.epc_format, chosen.cbv_xml_format) == ("Always_EPC_URN", "Always_URN")
    # No_Preference leaves the choice to the server, which keeps what was captured.
    assert negotiated({"GS1-EPC-Format": "No_Preference"}).applied_epc_format == (
        "Never_Translates"
    )


# --- on every endpoint -----------------------------------------------------------------------

# (method, path, body) of each kind of EPCIS endpoint.
ENDPOINTS: list[tuple[str, str, Any]] = [
    ("GET", "/", None),
    ("OPTIONS", "/events", None),
    ("GET", "/events", None),
    ("POST", "/events", {"type": "ObjectEvent"}),
    ("GET", "/events/urn:uuid:nope", None),
    ("POST", "/capture", document([])),
    ("GET", "/capture/nope", None),
    ("GET", "/eventTypes", None),
    ("GET", "/eventTypes/ObjectEvent", None),
    ("GET", "/bizSteps/commissioning/events", None),
    ("GET", "/queries", None),
    ("POST", "/queries", {"name": "q2", "query": {}}),
    ("GET", "/queries/q", None),
    ("GET", "/queries/q/events", None),
    ("GET", "/queries/q/subscriptions", None),
    ("DELETE", "/queries/q", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
def test_every_endpoint_refuses_a_range_without_2_0_0(
    node: tuple[TestClient, EventStore], method: str, path: str, body: Any
) -> None:
    client, store = node
    before = store.count_events()
    for headers in ({"GS1-EPCIS-Min": "2.1.0"}, {"GS1-CBV-Max": "1.2.0"}):
        response = client.request(
            method, path, content=None if body is None else json.dumps(body),
            headers={**LD, **headers},
        )  # fmt: skip
        assert response.status_code == 406, (path, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["type"] == "epcisException:NotAcceptableException"
    bad = client.request(method, path, headers={"GS1-EPCIS-Version": "v2"})
    assert bad.status_code == 400
    assert bad.json()["type"] == "epcisException:ValidationException"
    assert store.count_events() == before  # refused before anything was done
    assert client.get("/queries/q").status_code == 200  # DELETE did not run


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
def test_every_endpoint_serves_a_range_with_2_0_0_and_says_its_versions(
    node: tuple[TestClient, EventStore], method: str, path: str, body: Any
) -> None:
    client, _ = node
    headers = {"GS1-EPCIS-Min": "1.0.0", "GS1-EPCIS-Max": "2.0.0", "GS1-CBV-Version": "2.0"}
    response = client.request(
        method, path, content=None if body is None else json.dumps(body),
        headers={**LD, **headers},
    )  # fmt: skip
    assert response.status_code != 406, (path, response.text)
    if response.status_code < 400:
        assert response.headers["GS1-EPCIS-Version"] == "2.0.0"
        assert response.headers["GS1-CBV-Version"] == "2.0.0"


def test_other_resources_do_not_negotiate(node: tuple[TestClient, EventStore]) -> None:
    client, _ = node
    assert client.get("/health", headers={"GS1-EPCIS-Min": "9"}).status_code == 200


def test_a_subscription_stream_refuses_the_handshake(node: tuple[TestClient, EventStore]) -> None:
    client, _ = node
    with pytest.raises(WebSocketDenialResponse) as denied:
        client.websocket_connect(
            "/queries/q/subscriptions?stream=true", headers={"GS1-EPCIS-Version": "1.2"}
        ).__enter__()
    assert denied.value.status_code == 406
    assert denied.value.json()["type"] == "epcisException:NotAcceptableException"
    with client.websocket_connect(
        "/queries/q/subscriptions?stream=true", headers={"GS1-EPCIS-Max": "2.0.0"}
    ):
        pass  # accepted
