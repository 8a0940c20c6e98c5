"""The HTTP API in process (TestClient over a seeded store) and once over a real server."""

from __future__ import annotations

import io
import json
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient

from conftest import operator_headers
from factory import code, document, lifecycle, urn, write
from ionledger.api.app import create_app
from ionledger.services.importer import Importer
from ionledger.settings import Settings
from ionledger.store.port import EventStore


@pytest.fixture
def seeded(store: EventStore) -> tuple[EventStore, str]:
    pack = code("P")
    raw = json.dumps(document(lifecycle(pack, [code("M")]))).encode()
    Importer(store, Settings(database_url=store.url)).import_stream(io.BytesIO(raw))
    return store, pack


def test_battery_and_its_events(seeded: tuple[EventStore, str]) -> None:
    store, pack = seeded
    app = create_app(Settings(database_url=store.url), store=store)
    with TestClient(app, headers=operator_headers(store)) as client:
        body = client.get(f"/batteries/{pack}").json()
        assert body["battery"]["state"] == "tested"
        assert body["battery"]["chemistry"] == "LFP"
        assert body["eventCount"] == 6
        assert body["tests"][0]["soh_pct"] == 76.5
        same = client.get(f"/batteries/{urn(pack)}").json()  # any identifier form
        assert same["id"] == pack
        events = client.get(f"/batteries/{pack}/events").json()["events"]
        assert [e["type"] for e in events][:2] == ["ObjectEvent", "AggregationEvent"]
        assert all("recordTime" in e for e in events)
        assert client.get("/health").json() == {"status": "ok", "events": 7}
        assert "/batteries/{battery_id}" in client.get("/openapi.json").json()["paths"]


def test_errors_are_problem_details(seeded: tuple[EventStore, str]) -> None:
    store, _ = seeded
    app = create_app(Settings(database_url=store.url), store=store)
    with TestClient(app, headers=operator_headers(store)) as client:
        missing = client.get(f"/batteries/{code('P')}")
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"
        assert missing.json()["type"] == "urn:ionledger:error:not-found"
        bad = client.get("/batteries/03HPB0C1234567D5H00000X1")
        assert bad.status_code == 400
        assert bad.json()["position"] == 23
        assert bad.json()["field"] == "serial"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_real_server_end_to_end(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'e2e.db'}"
    pack = code("P")
    doc = write(tmp_path / "doc.json", lifecycle(pack, [code("M")]))
    exe = [sys.executable, "-m", "ionledger"]
    init = subprocess.run([*exe, "init", "--db", url], check=True, capture_output=True, text=True)
    [token] = [line for line in init.stdout.split() if line.startswith("ionl_")]  # shown once
    auth = {"Authorization": f"Bearer {token}"}
    subprocess.run([*exe, "import", str(doc), "--db", url], check=True, capture_output=True)
    port = _free_port()
    server = subprocess.Popen(
        [*exe, "serve", "--port", str(port), "--db", url],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                anonymous = httpx.get(f"http://127.0.0.1:{port}/batteries/{pack}", timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        assert anonymous.status_code == 401  # histories are not public
        assert anonymous.headers["www-authenticate"].startswith("Bearer")
        response = httpx.get(f"http://127.0.0.1:{port}/batteries/{pack}", headers=auth)
        assert response.status_code == 200
        assert response.json()["battery"]["kind"] == "pack"
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_api_docs_need_no_internet(seeded: tuple[EventStore, str]) -> None:
    store, _ = seeded
    with TestClient(create_app(Settings(database_url=store.url), store=store)) as client:
        page = client.get("/docs")
        assert page.status_code == 200
        for asset in re.findall(r'(?:src|href)="([^"]+)"', page.text):
            assert asset.startswith("/"), f"docs page loads {asset} from elsewhere"
            assert client.get(asset).status_code == 200, asset
