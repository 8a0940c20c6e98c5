"""The EPR endpoints in-process: each party acts with its own token, errors are problem
details naming the rule, and a retried POST with its opId answers the first outcome."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from epr_kit import World, build_world
from ionledger.api.app import create_app
from ionledger.governance.credentials import OPERATOR, issue
from ionledger.settings import Settings

Client = tuple[TestClient, dict[str, dict[str, str]], World]


@pytest.fixture
def api(tmp_path: Any) -> Iterator[Client]:
    from ionledger.store.open import init_store

    url = f"sqlite:///{tmp_path / 'api.db'}"
    store = init_store(url)
    world = build_world(store)
    headers = {}
    for who in ("RC", "BM", "VM", "NR", OPERATOR):
        scopes = ["admin"] if who == OPERATOR else ["read", "capture"]
        token = issue(store, who, scopes, registered=who != OPERATOR).token
        headers[who] = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(Settings(database_url=url), store=store)) as client:
        yield client, headers, world
    store.close()


def test_issue_transfer_surrender_and_read(api: Client) -> None:
    client, h, world = api
    body = {"opId": "api-1", "issuer": "RC", "category": "recycling", "grams": 10_000,
            "sources": [world.recycled[0]]}  # fmt: skip
    made = client.post("/epr/certificates", json=body, headers=h["RC"])
    assert made.status_code == 201, made.text
    cert = made.json()["certificate"]
    retried = client.post("/epr/certificates", json=body, headers=h["RC"])
    assert retried.status_code == 200
    assert retried.json() == {**made.json(), "replayed": True}
    moved = client.post("/epr/transfers", json={"certificate": cert, "to": "BM", "grams": 4_000},
                        headers=h["RC"])  # fmt: skip
    assert moved.status_code == 201, moved.text
    gone = client.post("/epr/surrenders", json={"certificate": cert, "year": 2024,
                                                "grams": 1_000}, headers=h["BM"])  # fmt: skip
    assert gone.status_code == 201, gone.text
    own = client.get("/epr/holdings", headers=h["BM"]).json()["holdings"]
    assert [(r["holder"], r["grams"]) for r in own] == [("BM", 3_000)]
    every = client.get("/epr/holdings", headers=h["NR"]).json()["holdings"]
    assert {(r["holder"], r["grams"]) for r in every} == {("BM", 3_000), ("RC", 6_000)}
    [seen] = client.get("/epr/certificates", headers=h["BM"]).json()["certificates"]
    assert seen["surrendered"] == [{"producer": "BM", "year": 2024, "grams": 1_000}]


def test_errors_name_the_rule(api: Client) -> None:
    client, h, world = api
    body = {"issuer": "RC", "category": "recycling", "grams": 10**9, "sources": [world.recycled[0]]}
    over = client.post("/epr/certificates", json=body, headers=h["RC"])
    assert over.status_code == 400
    assert over.json()["rule"] == "epr.over-issue"
    assert over.headers["content-type"] == "application/problem+json"
    bad = client.post("/epr/certificates", json={**body, "grams": 1.5}, headers=h["RC"])
    assert bad.json()["rule"] == "epr.bad-amount"
    other = client.post("/epr/certificates", json=body, headers=h["BM"])
    assert (other.status_code, other.json()["rule"]) == (403, "access.epr-own-account")
    assert client.post("/epr/certificates", json=body).status_code == 401
    assert client.get("/epr/holdings").status_code == 401
    first = client.post("/epr/certificates", json={**body, "grams": 5, "opId": "x"},
                        headers=h["RC"])  # fmt: skip
    assert first.status_code == 201
    reused = client.post("/epr/certificates", json={**body, "grams": 6, "opId": "x"},
                         headers=h["RC"])  # fmt: skip
    assert (reused.status_code, reused.json()["rule"]) == (409, "epr.replay-conflict")
    stray = client.post("/epr/transfers", json={"certificate": first.json()["certificate"],
                                                "to": "BM", "grams": 1, "amount": 2},
                        headers=h["RC"])  # fmt: skip
    assert stray.json()["rule"] == "epr.bad-request"
