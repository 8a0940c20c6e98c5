"""The EPCIS 2.0 REST binding's query side over HTTP: GET /events, top-level resources, paging."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from conftest import operator_headers
from factory import code, document, lifecycle, urn
from ionledger.api.app import create_app
from ionledger.epcis.documents import events_of, read_document
from ionledger.ledger.note import Signer
from ionledger.settings import Settings
from ionledger.store.port import EventStore


@pytest.fixture
def seeded(store: EventStore) -> tuple[TestClient, list[dict[str, Any]], str]:
    events: list[dict[str, Any]] = []
    packs = [code("P") for _ in range(6)]
    for day, pack in enumerate(packs, start=1):
        events += lifecycle(pack, [code("M")], start_day=day)
    app = create_app(
        Settings(database_url=store.url), store=store, signer=Signer.generate("ionledger.local")
    )
    client = TestClient(app, headers=operator_headers(store))
    with client:
        posted = client.post(
            "/capture",
            content=json.dumps(document(events)),
            headers={"Content-Type": "application/ld+json"},
        )
        assert client.get(posted.headers["Location"]).json()["success"]
    return client, events, packs[2]


def _ids(response: Any) -> list[str]:
    body = response.json()
    return [e["eventID"] for e in body["epcisBody"]["queryResults"]["resultsBody"]["eventList"]]


def test_paging_through_every_event(seeded: tuple[TestClient, list[dict[str, Any]], str]) -> None:
    client, events, _ = seeded
    seen: list[str] = []
    url: str | None = "/events?perPage=10"
    pages = 0
    with client:
        while url is not None:
            response = client.get(url)
            assert response.status_code == 200, response.text
            assert response.headers["GS1-EPCIS-Version"] == "2.0.0"
            seen += _ids(response)
            link = response.headers.get("Link")
            url = link.split(">")[0].lstrip("<") if link else None
            pages += 1
    assert sorted(seen) == sorted(e["eventID"] for e in events)
    assert len(seen) == len(set(seen))
    assert pages == -(-len(events) // 10)


def test_standard_parameters(seeded: tuple[TestClient, list[dict[str, Any]], str]) -> None:
    client, events, pack = seeded
    with client:
        aggregations = client.get("/events", params={"eventType": "AggregationEvent"})
        assert set(_ids(aggregations)) == {
            e["eventID"] for e in events if e["type"] == "AggregationEvent"
        }
        mine = client.get("/events", params={"MATCH_anyEPC": urn(pack), "perPage": 100})
        expected = {e["eventID"] for e in events if urn(pack) in json.dumps(e)}
        assert set(_ids(mine)) == expected
        assert _ids(client.get(f"/epcs/{quote(urn(pack), safe='')}/events?perPage=100")) == (
            _ids(mine)
        )
        steps = client.get("/bizSteps/inspecting/events", params={"perPage": 100})
        assert set(_ids(steps)) == {
            e["eventID"] for e in events if e.get("bizStep") == "inspecting"
        }
        window = client.get(
            "/events",
            params={
                "GE_eventTime": "2024-03-03T00:00:00Z",
                "LT_eventTime": "2024-03-04T00:00:00Z",
                "perPage": 100,
            },
        )
        assert _ids(window)
        assert all("2024-03-03" in e["eventTime"] for e in window.json()["epcisBody"][
            "queryResults"]["resultsBody"]["eventList"])  # fmt: skip
        as_xml = client.get(
            "/events", params={"eventType": "ObjectEvent"}, headers={"Accept": "application/xml"}
        )
        assert as_xml.headers["content-type"].startswith("application/xml")
        assert len(events_of(read_document(as_xml.content))) > 0


def test_collections(seeded: tuple[TestClient, list[dict[str, Any]], str]) -> None:
    client, events, _ = seeded
    with client:
        types = client.get("/eventTypes").json()
        assert types["type"] == "Collection"
        assert set(types["member"]) == {e["type"] for e in events}
        steps = client.get("/bizSteps", params={"perPage": 2})
        assert len(steps.json()["member"]) == 2
        assert 'rel="next"' in steps.headers["Link"]


def test_query_errors_are_epcis_exceptions(
    seeded: tuple[TestClient, list[dict[str, Any]], str],
) -> None:
    client, _, _ = seeded
    with client:
        unknown = client.get("/events", params={"EQ_colour": "red", "GE_bogus": "1"})
        bad_time = client.get("/events", params={"GE_eventTime": "yesterday"})
        bad_page = client.get("/events", params={"perPage": "0"})
        too_many = client.get("/events", params={"maxEventCount": "2"})
    for response in (unknown, bad_time, bad_page):
        assert response.status_code == 400, response.text
        assert response.json()["type"] == "epcisException:QueryParameterException"
    assert "GE_eventTime" in bad_time.json()["detail"]
    assert too_many.status_code == 413
    assert too_many.json()["type"] == "epcisException:QueryTooLargeException"
