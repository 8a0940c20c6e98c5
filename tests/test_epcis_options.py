"""OPTIONS discovery on every EPCIS resource (api/discovery.py), GET / and GET /{x}/{value}."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from starlette.routing import BaseRoute, Match

from conftest import need_refdata, operator_headers
from factory import code, document, lifecycle
from ionledger.api import epcis as epcis_api
from ionledger.api.app import create_app
from ionledger.api.discovery import RESOURCES, TOP_LEVEL
from ionledger.ledger.note import Signer
from ionledger.settings import Settings
from ionledger.store.open import init_store

# What openapi.yaml's 204DefaultDiscoveryResponse lists (Allow aside).
DISCOVERY_HEADERS = (
    "GS1-EPCIS-Version", "GS1-EPCIS-Min", "GS1-EPCIS-Max", "GS1-CBV-Version", "GS1-CBV-Min",
    "GS1-CBV-Max", "GS1-EPC-Format", "GS1-CBV-XML-Format", "GS1-Extensions", "GS1-Vendor-Version",
)  # fmt: skip
# A value for each path parameter, one with a "/" where the value may hold one.
VALUES = {
    "captureID": "abc123",
    "eventID": "urn:uuid:00000000-0000-4000-8000-000000000001",
    "value": "https://id.gs1.org/414/4012345000115/254/987",
    "queryName": "q",
    "subscriptionID": "s1",
}


def concrete(template: str) -> str:
    return re.sub(r"\{(\w+)(?::path)?\}", lambda m: VALUES[m[1]], template)


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    store = init_store(f"sqlite:///{tmp_path / 'o.db'}")
    app = create_app(
        Settings(database_url=store.url), store=store, signer=Signer.generate("ionledger.local")
    )
    with TestClient(app, headers=operator_headers(store)) as c:
        yield c
    store.close()


@pytest.mark.parametrize("template", list(RESOURCES))
def test_options_answers_every_resource(client: TestClient, template: str) -> None:
    response = client.options(concrete(template))
    assert response.status_code == 204, response.text
    assert response.content == b""
    assert response.headers["Allow"] == ", ".join(("OPTIONS", *RESOURCES[template]))
    for name in DISCOVERY_HEADERS:
        assert response.headers[name], name
    assert response.headers["GS1-EPCIS-Version"] == response.headers["GS1-EPCIS-Min"] == "2.0.0"
    assert response.headers["GS1-CBV-Max"] == "2.0.0"
    assert response.headers["GS1-Extensions"] == "ion=https://ionledger.org/voc/"


def test_capture_options_add_the_limits(client: TestClient) -> None:
    response = client.options("/capture")
    assert response.headers["Allow"] == "OPTIONS, GET, POST"
    assert response.headers["GS1-EPCIS-Capture-Limit"] == str(epcis_api.CAPTURE_LIMIT_EVENTS)
    assert response.headers["GS1-EPCIS-Capture-File-Size-Limit"] == str(
        epcis_api.CAPTURE_LIMIT_BYTES
    )
    assert response.headers["GS1-Capture-Error-Behaviour"] == "all"  # rollback and proceed
    assert "GS1-EPCIS-Capture-Limit" not in client.options("/events").headers


def test_options_negotiates_versions(client: TestClient) -> None:
    response = client.options("/events", headers={"GS1-EPCIS-Min": "3.0"})
    assert response.status_code == 406
    assert response.json()["type"] == "epcisException:NotAcceptableException"


def _routed(routes: list[BaseRoute], path: str, method: str) -> bool:
    scope = {"type": "http", "path": path, "method": method}
    return any(route.matches(scope)[0] is Match.FULL for route in routes)


def test_the_table_says_what_the_app_routes(client: TestClient) -> None:
    """Allow lists exactly the methods that are routed: every one it names answers, and every
    other method on an EPCIS resource is refused by the router (405)."""
    routes = client.app.router.routes  # type: ignore[attr-defined]
    for template, methods in RESOURCES.items():
        path = concrete(template)
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            assert _routed(routes, path, method) == (method in methods), (template, method)


def test_every_options_resource_of_the_openapi_is_answered(client: TestClient) -> None:
    spec = json.loads(need_refdata("epcis", "gs1", "REST Bindings", "openapi.json").read_text())
    ours = {re.sub(r"\{\w+(?::path)?\}", "{}", t) for t in RESOURCES}
    with_options = [p for p, ops in spec["paths"].items() if "options" in ops]
    assert len(with_options) == len(RESOURCES) == 28  # all but /nextPageToken/{token}
    for path in with_options:
        assert re.sub(r"\{\w+\}", "{}", path) in ours, path
        allowed = spec["paths"][path]
        # Every method we list, GS1 lists too.
        template = next(t for t in RESOURCES if re.sub(r"\{\w+(?::path)?\}", "{}", t)
                        == re.sub(r"\{\w+\}", "{}", path))  # fmt: skip
        assert {m.lower() for m in RESOURCES[template]} <= set(allowed), path


def test_root_lists_the_top_level_resources(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    body = response.json()
    assert body["type"] == "Collection"
    assert set(body["member"]) == {"queries", "capture", "events", *TOP_LEVEL}
    assert response.headers["GS1-EPCIS-Version"] == "2.0.0"
    refused = client.get("/", headers={"GS1-EPCIS-Version": "1.2"})
    assert refused.status_code == 406
    assert refused.json()["type"] == "epcisException:NotAcceptableException"


def test_a_value_resource_lists_its_events_sub_resource(client: TestClient) -> None:
    pack = code("P")
    posted = client.post(
        "/capture",
        content=json.dumps(document(lifecycle(pack, [code("M")]))),
        headers={"Content-Type": "application/ld+json"},
    )
    assert posted.status_code == 202
    for path in (
        "/eventTypes/AggregationEvent",
        "/bizSteps/commissioning",
        f"/epcs/urn:ionledger:gbt34014:{pack}",
        "/dispositions/active",
    ):
        response = client.get(path)
        assert response.status_code == 200, (path, response.text)
        assert response.json()["member"] == ["events"]
        assert client.get(f"{path}/events").json()["epcisBody"]["queryResults"]
    missing = client.get("/bizSteps/never_seen")
    assert missing.status_code == 404
    assert missing.json()["type"] == "epcisException:NoSuchResourceException"
