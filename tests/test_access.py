"""The access matrix: every role against every action on batteries it did and did not touch.

One battery, A, goes BM (Fujian) -> VM, DL, DS (Guangdong) -> RC (Hunan). Another, B, is made
by BM and stays with it. Each cell of the matrix is asserted: allowed, or refused with 401/403
and a reason.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from factory import code
from governance_kit import capture, compliant_life, inspect, register
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
    from governance_kit import commission

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
