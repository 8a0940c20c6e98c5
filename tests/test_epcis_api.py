"""The EPCIS 2.0 REST binding's capture side: /capture jobs, POST /events, GET /events/{id}."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from conftest import operator_headers
from factory import code, document, lifecycle
from ionledger.api import epcis as epcis_api
from ionledger.api.app import create_app
from ionledger.epcis.documents import read_document, write_xml
from ionledger.ledger.note import Signer
from ionledger.services.verify import verify_log
from ionledger.settings import Settings
from ionledger.store.port import EventStore

LD = {"Content-Type": "application/ld+json"}


@pytest.fixture
def node(store: EventStore) -> tuple[TestClient, EventStore, Signer]:
    signer = Signer.generate("ionledger.local")
    app = create_app(Settings(database_url=store.url), store=store, signer=signer)
    return TestClient(app, headers=operator_headers(store)), store, signer


def _doc(packs: int = 2) -> tuple[bytes, list[dict[str, Any]]]:
    events: list[dict[str, Any]] = []
    for day in range(1, packs + 1):
        events += lifecycle(code("P"), [code("M")], start_day=day)
    return json.dumps(document(events)).encode(), events


def test_capture_discovery_advertises_limits(node: tuple[TestClient, EventStore, Signer]) -> None:
    client, _, _ = node
    with client:
        response = client.options("/capture")
    assert response.status_code == 204
    assert response.headers["GS1-EPCIS-Capture-Limit"] == str(epcis_api.CAPTURE_LIMIT_EVENTS)
    assert int(response.headers["GS1-EPCIS-Capture-File-Size-Limit"]) > 0
    assert response.headers["GS1-Capture-Error-Behaviour"] == "all"  # rollback and proceed
    assert response.headers["GS1-EPCIS-Version"] == "2.0.0"


def test_capture_job_stores_logs_and_is_kept(node: tuple[TestClient, EventStore, Signer]) -> None:
    client, store, signer = node
    body, events = _doc()
    with client:
        posted = client.post("/capture", content=body, headers=LD)
        assert posted.status_code == 202, posted.text
        job = client.get(posted.headers["Location"]).json()
        assert job["running"] is False
        assert job["success"] is True
        assert job["captureErrorBehaviour"] == "rollback"
        assert job["errors"] == []
        assert job["ion:stored"] == len(events)
        one = client.get(f"/events/{quote(events[3]['eventID'], safe='')}")
        assert one.status_code == 200
        got = one.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        assert got[0]["eventID"] == events[3]["eventID"]
    assert store.count_events() == store.log_size() == len(events)
    verify_log(store, signer.verifier())
    # The job outlives the server process that ran it.
    again = TestClient(
        create_app(Settings(database_url=store.url), store=store, signer=signer),
        headers=operator_headers(store),
    )
    with again:
        assert again.get(posted.headers["Location"]).json()["success"] is True


def test_capture_xml_and_get_xml(node: tuple[TestClient, EventStore, Signer]) -> None:
    client, store, _ = node
    body, events = _doc(1)
    xml = write_xml(read_document(body))
    with client:
        posted = client.post("/capture", content=xml, headers={"Content-Type": "application/xml"})
        assert posted.status_code == 202
        assert client.get(posted.headers["Location"]).json()["success"] is True
        shown = client.get(
            f"/events/{quote(events[0]['eventID'], safe='')}",
            headers={"Accept": "application/xml"},
        )
        assert shown.headers["content-type"].startswith("application/xml")
        assert read_document(shown.content)["type"] == "EPCISQueryDocument"
        refused = client.get(
            f"/events/{quote(events[0]['eventID'], safe='')}", headers={"Accept": "text/csv"}
        )
        assert refused.status_code == 406
        assert refused.json()["type"] == "epcisException:NotAcceptableException"
    assert store.count_events() == len(events)


@pytest.mark.parametrize("behaviour", ["rollback", "proceed"])
def test_error_behaviour(node: tuple[TestClient, EventStore, Signer], behaviour: str) -> None:
    client, store, _ = node
    _, events = _doc(2)
    events[4]["eventTime"] = "last tuesday"
    body = json.dumps(document(events)).encode()
    with client:
        posted = client.post(
            "/capture", content=body, headers={**LD, "GS1-Capture-Error-Behaviour": behaviour}
        )
        job = client.get(posted.headers["Location"]).json()
    assert job["success"] is False
    assert job["captureErrorBehaviour"] == behaviour
    assert [(e["eventIndex"], e["field"]) for e in job["errors"]] == [(4, "eventTime")]
    assert store.count_events() == (0 if behaviour == "rollback" else len(events) - 1)


def test_post_one_event(node: tuple[TestClient, EventStore, Signer]) -> None:
    client, store, _ = node
    _, events = _doc(1)
    with client:
        created = client.post("/events", content=json.dumps(events[0]), headers=LD)
        assert created.status_code == 201, created.text
        assert created.headers["Location"] == f"/events/{quote(events[0]['eventID'], safe='')}"
        assert client.get(created.headers["Location"]).status_code == 200
        twice = client.post("/events", content=json.dumps(events[0]), headers=LD)
        assert twice.status_code == 201  # idempotent: the same event, the same resource
        bad = dict(events[1], eventTime="soon")
        refused = client.post("/events", content=json.dumps(bad), headers=LD)
        assert refused.status_code == 400
        assert refused.json()["type"] == "epcisException:ValidationException"
        assert "eventTime" in refused.json()["detail"]
    assert store.count_events() == 1


def test_capture_refusals(node: tuple[TestClient, EventStore, Signer], monkeypatch: Any) -> None:
    client, store, _ = node
    body, _ = _doc(1)
    with client:
        wrong = client.post("/capture", content=body, headers={"Content-Type": "text/csv"})
        assert wrong.status_code == 415
        assert wrong.json()["type"] == "epcisException:UnsupportedMediaTypeException"
        junk = client.post("/capture", content=b'{"type": "Invoice"}', headers=LD)
        assert junk.status_code == 400
        assert junk.json()["type"] == "epcisException:ValidationException"
        behaviour = client.post(
            "/capture", content=body, headers={**LD, "GS1-Capture-Error-Behaviour": "ignore"}
        )
        assert behaviour.status_code == 400
        assert "rollback or proceed" in behaviour.text
        monkeypatch.setattr(epcis_api, "CAPTURE_LIMIT_BYTES", 100)
        big = client.post("/capture", content=body, headers=LD)
        assert big.status_code == 413
        assert big.json()["type"] == "epcisException:CaptureLimitExceededException"
        monkeypatch.setattr(epcis_api, "CAPTURE_LIMIT_BYTES", 10**9)
        monkeypatch.setattr(epcis_api, "CAPTURE_LIMIT_EVENTS", 3)
        many = client.post("/capture", content=body, headers=LD)
        assert many.status_code == 413
        assert "limit is 3" in many.json()["detail"]
        missing = client.get("/capture/nope")
        assert missing.status_code == 404
        assert missing.json()["type"] == "epcisException:NoSuchResourceException"
    assert store.count_events() == 0


def test_capture_and_query_against_a_real_server(tmp_path: Any) -> None:
    """The REST binding over a real uvicorn process: capture (JSON and XML), job, query, log."""
    import socket
    import subprocess
    import sys
    import time

    import httpx2 as httpx

    url = f"sqlite:///{tmp_path / 'node.db'}"
    exe = [sys.executable, "-m", "ionledger"]
    init = subprocess.run([*exe, "init", "--db", url], check=True, capture_output=True, text=True)
    [token] = [word for word in init.stdout.split() if word.startswith("ionl_")]  # shown once
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    server = subprocess.Popen(
        [*exe, "serve", "--port", str(port), "--db", url],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    body, events = _doc(3)
    xml_body, xml_events = _doc(1)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{base}/health", timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        auth = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=base, timeout=30, headers=auth) as client:
            assert client.options("/capture").status_code == 204
            for data, kind in (
                (body, "application/ld+json"),
                (write_xml(read_document(xml_body)), "application/xml"),
            ):
                posted = client.post("/capture", content=data, headers={"Content-Type": kind})
                assert posted.status_code == 202, posted.text
                assert client.get(posted.headers["Location"]).json()["success"] is True
            found = client.get("/events", params={"perPage": 1000}).json()
            listed = found["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
            assert len(listed) == len(events) + len(xml_events)
            note = client.get("/log/checkpoint").text
            assert note.splitlines()[0] == "ionledger.local"
    finally:
        server.terminate()
        server.wait(timeout=10)
    verified = subprocess.run([*exe, "verify", "--db", url], capture_output=True, text=True)
    assert verified.returncode == 0, verified.stdout + verified.stderr
