"""The access matrix: every role against every action on batteries it did and did not touch.

One battery, A, goes BM (Fujian) -> VM, DL, DS (Guangdong) -> RC (Hunan). Another, B, is made
by BM and stays with it. Each cell of the matrix is asserted: allowed, or refused with 401/403
and a reason.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from factory import code, document, urn
from governance_kit import capture, commission, compliant_life, inspect, register
from ionledger.api.app import create_app
from ionledger.governance.credentials import OPERATOR, issue
from ionledger.settings import Settings

PACK_A, PACK_B = code(maker="03H"), code(maker="03H")
WHO = ("public", "operator", "NR", "PGD", "PSC", "BM", "DL", "RC", "XR")

# Who may read each battery's history (GET /batteries/{id}).
READS = {
    PACK_A: {"operator", "NR", "PGD", "BM", "DL", "RC"},  # PGD: it passed through Guangdong
    PACK_B: {"operator", "NR", "BM"},  # PGD/PSC: never in their provinces
}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict[str, str]]]:
    from ionledger.store.open import init_store

    url = f"sqlite:///{tmp_path_factory.mktemp('access') / 'a.db'}"
    store = init_store(url)
    register(store)
    life = compliant_life(PACK_A)
    life[-1] = inspect("RC", PACK_A, 99.0, 10)  # raises an alert about A, reported by RC
    assert capture(store, life).ok
    assert capture(store, [commission("BM", [PACK_B], 2)]).ok
    tokens = {"public": ""}
    for who in WHO[1:]:
        scopes = ["admin"] if who == OPERATOR else ["read", "capture"]
        tokens[who] = issue(store, who, scopes, registered=who != OPERATOR).token
    with TestClient(create_app(Settings(database_url=url), store=store)) as client:
        yield client, tokens
    store.close()


def _get(world: tuple[TestClient, dict[str, str]], who: str, path: str) -> tuple[int, dict]:
    client, tokens = world
    headers = {"Authorization": f"Bearer {tokens[who]}"} if tokens[who] else {}
    response = client.get(path, headers=headers)
    return response.status_code, response.json()


@pytest.mark.parametrize("who", WHO)
@pytest.mark.parametrize("pack", [PACK_A, PACK_B])
def test_reading_a_history(world: tuple[TestClient, dict[str, str]], who: str, pack: str) -> None:
    for path in (f"/batteries/{pack}", f"/batteries/{pack}/events"):
        status, body = _get(world, who, path)
        if who in READS[pack]:
            assert status == 200, (who, path, body)
        elif who == "public":
            assert status == 401
            assert "public tier" in body["detail"]
        else:
            assert status == 403, (who, path, body)
            assert body["rule"] == "access.read-history"
            assert who in body["detail"]
            assert pack in body["detail"]


@pytest.mark.parametrize("who", WHO)
def test_the_public_tier_is_for_everyone(
    world: tuple[TestClient, dict[str, str]], who: str
) -> None:
    status, body = _get(world, who, f"/public/batteries/{PACK_A}")
    assert status == 200
    assert body["tier"] == "public"
    assert body["chemistry"] == "NMC622"
    assert "custodian" not in body
    assert "events" not in body


@pytest.mark.parametrize("who", WHO)
def test_alerts_follow_the_battery(world: tuple[TestClient, dict[str, str]], who: str) -> None:
    status, body = _get(world, who, "/alerts")
    if who == "public":
        assert status == 401
        return
    assert status == 200
    subjects = {a["subject"] for a in body["alerts"]}
    assert subjects == ({PACK_A} if who in READS[PACK_A] else set()), who


@pytest.mark.parametrize("who", WHO)
def test_only_admins_change_the_registry(
    world: tuple[TestClient, dict[str, str]], who: str
) -> None:
    client, tokens = world
    headers = {"Authorization": f"Bearer {tokens[who]}"} if tokens[who] else {}
    revoke = {"op": "whitelist.revoke",
              "data": {"enterprise": "CU", "category": "cascade_use", "reason": f"audit {who}",
                       "on": "2030-01-01"}}  # fmt: skip
    response = client.post("/registry/changes", json={"changes": [revoke]}, headers=headers)
    if who == "operator":
        assert response.status_code == 201
        assert response.json()["records"][0].startswith("urn:ionledger:registry:")
    elif who == "public":
        assert response.status_code == 401
    else:
        assert response.status_code == 403
        assert response.json()["rule"] == "access.scope-admin"


def test_registry_reads_are_public(world: tuple[TestClient, dict[str, str]]) -> None:
    status, body = _get(world, "public", "/registry/whitelist")
    assert status == 200
    assert {(e["enterprise"], e["category"]) for e in body["whitelist"]} == {
        ("RC", "recycling"),
        ("CU", "cascade_use"),
    }


# -- the EPCIS endpoints obey the same rules ---------------------------------------------------
def _ids(events: list[dict]) -> set[str]:
    return {code for e in events for code in e.get("epcList", [])}


@pytest.mark.parametrize("who", WHO)
def test_epcis_queries_see_only_what_may_be_read(
    world: tuple[TestClient, dict[str, str]], who: str
) -> None:
    status, body = _get(world, who, "/events?perPage=1000")
    if who == "public":
        assert status == 401
        return
    assert status == 200, body
    seen = _ids(body["epcisBody"]["queryResults"]["resultsBody"]["eventList"])
    expected = {p for p in (PACK_A, PACK_B) if who in READS[p]}
    assert {p for p in (PACK_A, PACK_B) if any(p in s for s in seen)} == expected, who
    # The value lists and per-EPC resources are narrowed the same way.
    status, body = _get(world, who, f"/epcs/{urn(PACK_B)}/events")
    assert status == 200
    found = body["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    assert bool(found) == (who in READS[PACK_B]), who


@pytest.mark.parametrize("who", WHO)
def test_an_event_by_id_follows_its_battery(
    world: tuple[TestClient, dict[str, str]], who: str
) -> None:
    client, tokens = world
    operator = {"Authorization": f"Bearer {tokens['operator']}"}
    everything = client.get(f"/epcs/{urn(PACK_B)}/events", headers=operator).json()
    [event] = everything["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    status, body = _get(world, who, f"/events/{quote(event['eventID'], safe='')}")
    if who == "public":
        assert status == 401
    elif who in READS[PACK_B]:
        assert status == 200, body
    else:
        assert status == 404  # as if absent: its existence is not disclosed


@pytest.mark.parametrize("who", WHO)
def test_capture_is_as_oneself(world: tuple[TestClient, dict[str, str]], who: str) -> None:
    """POST /events: the capture scope, and an enterprise reports only as itself."""
    client, tokens = world
    headers = {"Authorization": f"Bearer {tokens[who]}"} if tokens[who] else {}
    pack = code(maker="03H")
    as_bm = commission("BM", [pack], 3)
    response = client.post("/events", json=as_bm, headers=headers)
    if who == "public":
        assert response.status_code == 401
    elif who in ("operator", "BM"):
        assert response.status_code == 201, response.text  # the operator captures for anyone
    else:
        assert response.status_code == 400
        assert "access.reporter-mismatch" in response.json()["detail"], who
    # Without ion:reportedBy, the event reports as the credential's enterprise.
    unsigned = commission("BM", [code(maker="03H")], 3)
    del unsigned["ion:reportedBy"]
    response = client.post("/events", json=unsigned, headers=headers)
    if who == "BM":
        assert response.status_code == 201
    elif who not in ("public", "operator"):
        assert "access.not-permitted" in response.json()["detail"], who  # not its maker code


def test_capture_jobs_are_their_senders(world: tuple[TestClient, dict[str, str]]) -> None:
    client, tokens = world
    auth = {w: {"Authorization": f"Bearer {tokens[w]}"} for w in ("BM", "DL", "operator")}
    body = json.dumps(document([commission("BM", [code(maker="03H")], 4)]))
    posted = client.post("/capture", content=body, headers=auth["BM"])
    assert posted.status_code == 202, posted.text
    job = posted.headers["Location"]
    assert client.get(job, headers=auth["BM"]).json()["ion:capturedBy"] == "BM"
    refused = client.get(job, headers=auth["DL"])
    assert refused.status_code == 403
    assert refused.json()["rule"] == "access.capture-job"
    assert client.get(job, headers=auth["operator"]).status_code == 200
    assert client.get(job).status_code == 401
    mine = client.get("/capture", headers=auth["BM"]).json()
    assert job.rsplit("/", 1)[1] in {j["captureID"] for j in mine}
    assert all(j["ion:capturedBy"] == "BM" for j in mine)
    assert client.get("/capture", headers=auth["DL"]).json() == []


def test_subscriptions_deliver_only_what_the_subscriber_may_read(
    world: tuple[TestClient, dict[str, str]],
) -> None:
    from ionledger.services.subscriptions import SubscriptionService, parse_controls

    client, tokens = world
    auth = {w: {"Authorization": f"Bearer {tokens[w]}"} for w in WHO[1:]}
    made = client.post("/queries", json={"name": "packs", "query": {}}, headers=auth["BM"])
    assert made.status_code == 201, made.text
    assert client.post("/queries", json={"name": "x", "query": {}}).status_code == 401
    hook = {"dest": "https://example.invalid/hook", "stream": True}
    sub = client.post("/queries/packs/subscriptions", json=hook, headers=auth["PSC"]).json()
    # A subscription is its subscriber's: others neither list nor read nor end it.
    assert client.get("/queries/packs/subscriptions", headers=auth["BM"]).json() == []
    one = f"/queries/packs/subscriptions/{sub['subscriptionID']}"
    assert client.get(one, headers=auth["BM"]).status_code == 404
    assert client.delete(one, headers=auth["BM"]).status_code == 404
    assert client.get(one, headers=auth["PSC"]).status_code == 200
    assert client.get(one, headers=auth["operator"]).status_code == 200
    # Deliveries (and WebSocket streams) read as the subscriber: from the log's start, BM
    # sees both packs, Sichuan's regulator neither, Guangdong's only A.
    service = SubscriptionService(client.app.state.principals.store)  # type: ignore[attr-defined]
    controls = parse_controls(
        stream=True, schedule=None, report_if_empty=None, initial="2000-01-01T00:00:00Z"
    )
    principals = client.app.state.principals  # type: ignore[attr-defined]
    for who in ("BM", "PSC", "PGD"):
        docs = service.watch("packs", controls, principals.of_enterprise(who)).poll()
        events = [
            e
            for d in docs
            for e in json.loads(d)["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        ]
        seen = {p for p in (PACK_A, PACK_B) if any(p in s for s in _ids(events))}
        assert seen == {p for p in (PACK_A, PACK_B) if who in READS[p]}, who
