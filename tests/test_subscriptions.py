"""EPCIS 2.0 named queries and subscriptions: CRUD, webhook delivery, WebSocket streaming."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketDenialResponse

from conftest import operator_headers
from factory import code, document, event, lifecycle
from ionledger.api.app import create_app
from ionledger.ledger.note import Signer
from ionledger.services.capture_jobs import CaptureService
from ionledger.services.schedule import Schedule, SubscriptionControlsError
from ionledger.services.subscriptions import gs1_signature
from ionledger.settings import Settings
from ionledger.store.port import EventStore

LD = {"Content-Type": "application/ld+json"}
TOKEN = "13df38d8275b13f05704629e5f1cf3d45d6132d5"
BATCH = 4  # events per POST: small, so that deliveries span several batches


@pytest.fixture(autouse=True)
def fast_delivery(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"POLL": "0.02", "BACKOFF": "0.02", "BACKOFF_MAX": "0.1",
                        "BATCH": str(BATCH), "TIMEOUT": "5"}.items():  # fmt: skip
        monkeypatch.setenv(f"IONLEDGER_SUBSCRIPTION_{name}", value)


class Receiver:
    """A webhook subscriber on a real local HTTP port; ``fail`` answers 503 that many times."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.posts: list[tuple[dict[str, str], bytes]] = []
        self.attempts = 0
        self.fail = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    receiver.attempts += 1
                    failing = receiver.fail > 0
                    receiver.fail -= failing
                    if not failing:
                        receiver.posts.append((dict(self.headers), body))
                self.send_response(503 if failing else 204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def documents(self) -> list[dict[str, Any]]:
        with self.lock:
            return [json.loads(body) for _, body in self.posts]

    def ids(self) -> list[str]:
        return [e["eventID"] for doc in self.documents() for e in _events(doc)]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    r.thread.start()
    yield r
    r.server.shutdown()
    r.server.server_close()
    r.thread.join()


def _app(store: EventStore, signer: Signer) -> TestClient:
    return TestClient(
        create_app(Settings(database_url=store.url), store=store, signer=signer),
        headers=operator_headers(store),
    )


@pytest.fixture
def node(store: EventStore) -> tuple[TestClient, EventStore, Signer]:
    signer = Signer.generate("ionledger.local")
    return _app(store, signer), store, signer


def _events(doc: dict[str, Any]) -> list[dict[str, Any]]:
    results = doc["epcisBody"]["queryResults"]
    events: list[dict[str, Any]] = results["resultsBody"]["eventList"]
    return events


def _fleet(packs: int) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for day in range(1, packs + 1):
        events += lifecycle(code("P"), [code("M")], start_day=day)
    return events


def _capture(client: TestClient, events: list[dict[str, Any]]) -> None:
    posted = client.post("/capture", content=json.dumps(document(events)), headers=LD)
    assert client.get(posted.headers["Location"]).json()["success"] is True


def _until(done: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def _problem(response: Any, status: int, kind: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    problem: dict[str, Any] = response.json()
    assert problem["type"] == f"epcisException:{kind}"
    return problem


SOLD_OR_ACTIVE = {"eventType": ["ObjectEvent"], "EQ_disposition": ["active", "retail_sold"]}


def _matches(event: dict[str, Any]) -> bool:
    return event["type"] == "ObjectEvent" and event.get("disposition") in ("active", "retail_sold")


# -- named queries ---------------------------------------------------------------------------


def test_named_query_crud_and_events(node: tuple[TestClient, EventStore, Signer]) -> None:
    client, store, _ = node
    events = _fleet(3)
    with client:
        _capture(client, events)
        created = client.post("/queries", json={"name": "sold", "query": SOLD_OR_ACTIVE})
        assert created.status_code == 201, created.text
        assert created.headers["Location"] == "/queries/sold"
        again = client.post("/queries", json={"name": "sold", "query": {}})
        assert "sold" in _problem(again, 409, "ResourceAlreadyExistsException")["detail"]
        typo = client.post("/queries", json={"name": "x", "query": {"EQ_bizStp": ["shipping"]}})
        problem = _problem(typo, 400, "QueryParameterException")
        assert problem["parameter"] == "EQ_bizStp"
        assert "EQ_bizStep" in problem["detail"]
        when = client.post("/queries", json={"name": "x", "query": {"GE_eventTime": "soon"}})
        assert _problem(when, 400, "QueryParameterException")["parameter"] == "GE_eventTime"
        paging = client.post("/queries", json={"name": "x", "query": {"perPage": 5}})
        assert _problem(paging, 400, "QueryParameterException")["parameter"] == "perPage"
        named = client.post("/queries", json={"name": "a/b", "query": {}})
        assert "name" in _problem(named, 400, "ValidationException")["detail"]
        assert client.post("/queries", json={"name": "all", "query": {}}).status_code == 201

        assert client.get("/queries/sold").json() == {"name": "sold", "query": SOLD_OR_ACTIVE}
        _problem(client.get("/queries/nope"), 404, "NoSuchResourceException")
        _problem(client.get("/queries/nope/events"), 404, "NoSuchResourceException")
        first = client.get("/queries", params={"perPage": 1})
        assert [q["name"] for q in first.json()] == ["all"]
        second = client.get(first.headers["Link"].split(">")[0].lstrip("<"))
        assert [q["name"] for q in second.json()] == ["sold"]

        # The named query's events: what GET /events gives for the same parameters, paged alike.
        seen: list[str] = []
        url: str | None = "/queries/sold/events?perPage=4"
        while url is not None:
            page = client.get(url)
            assert page.status_code == 200, page.text
            assert page.json()["epcisBody"]["queryResults"]["queryName"] == "sold"
            seen += [e["eventID"] for e in _events(page.json())]
            link = page.headers.get("Link")
            url = link.split(">")[0].lstrip("<") if link else None
        assert sorted(seen) == sorted(e["eventID"] for e in events if _matches(e))
        direct = client.get("/events", params={**SOLD_OR_ACTIVE, "perPage": 100})
        assert [e["eventID"] for e in _events(direct.json())] == seen  # the same order too
        fixed = client.get("/queries/sold/events", params={"eventType": "ObjectEvent"})
        assert _problem(fixed, 400, "QueryParameterException")["parameter"] == "eventType"

        sub = client.post(
            "/queries/sold/subscriptions", json={"dest": "http://127.0.0.1:9/", "stream": True}
        )
        assert sub.status_code == 201
        assert client.delete("/queries/sold").status_code == 204
        _problem(client.get("/queries/sold"), 404, "NoSuchResourceException")
        _problem(client.delete("/queries/sold"), 404, "NoSuchResourceException")
    assert store.subscriptions(query_name=None, after=None, limit=10) == []  # gone with it


def test_subscription_crud_and_controls(node: tuple[TestClient, EventStore, Signer]) -> None:
    client, _, _ = node
    with client:
        client.post("/queries", json={"name": "q", "query": {"eventType": ["ObjectEvent"]}})
        top = {"eventCountLimit": 1, "orderBy": "eventTime"}
        client.post("/queries", json={"name": "top", "query": top})
        hook = "http://127.0.0.1:9/hook"
        unknown = client.post("/queries/nope/subscriptions", json={"dest": hook, "stream": True})
        _problem(unknown, 404, "NoSuchResourceException")
        for body, parameter in (
            ({"dest": hook}, "stream"),
            ({"dest": hook, "stream": False}, "stream"),
            ({"dest": hook, "stream": True, "schedule": {"minute": "5"}}, "stream"),
            ({"dest": hook, "schedule": {"minute": "61"}}, "schedule.minute"),
            ({"dest": hook, "schedule": {"hour": "[5-2]"}}, "schedule.hour"),
            ({"dest": hook, "schedule": {"fortnight": "1"}}, "schedule.fortnight"),
            ({"dest": hook, "stream": True, "reportIfEmpty": True}, "reportIfEmpty"),
            ({"dest": hook, "stream": True, "initialRecordTime": "noon"}, "initialRecordTime"),
        ):
            refused = client.post("/queries/q/subscriptions", json=body)
            problem = _problem(refused, 400, "SubscriptionControlsException")
            assert problem["parameter"] == parameter, body
        bad_dest = client.post("/queries/q/subscriptions", json={"dest": "ftp://x", "stream": True})
        assert "dest" in _problem(bad_dest, 400, "ValidationException")["detail"]
        limited = client.post("/queries/top/subscriptions", json={"dest": hook, "stream": True})
        assert _problem(limited, 400, "QueryParameterException")["parameter"] == "eventCountLimit"

        body = {"dest": hook, "signatureToken": TOKEN, "stream": True}
        created = client.post("/queries/q/subscriptions", json=body)
        assert created.status_code == 201, created.text
        view = created.json()
        assert created.headers["Location"] == f"/queries/q/subscriptions/{view['subscriptionID']}"
        assert view["stream"] is True
        assert view["dest"] == hook
        assert view["queryName"] == "q"
        assert "signatureToken" not in view
        assert TOKEN not in created.text
        scheduled = client.post(
            "/queries/q/subscriptions",
            json={"dest": hook, "schedule": {"hour": "1", "minute": "5"}, "reportIfEmpty": True},
        )
        assert scheduled.json()["schedule"] == {"hour": "1", "minute": "5"}
        assert scheduled.json()["reportIfEmpty"] is True
        assert (
            client.get(created.headers["Location"]).json()["subscriptionID"]
            == (view["subscriptionID"])
        )
        listed = client.get("/queries/q/subscriptions").json()
        assert {s["subscriptionID"] for s in listed} == {
            view["subscriptionID"],
            scheduled.json()["subscriptionID"],
        }
        assert client.delete(created.headers["Location"]).status_code == 204
        _problem(client.get(created.headers["Location"]), 404, "NoSuchResourceException")
        _problem(client.delete(created.headers["Location"]), 404, "NoSuchResourceException")
        _problem(client.get("/queries/q/subscriptions/nope"), 404, "NoSuchResourceException")


def test_schedules_follow_the_standard() -> None:
    at = datetime(2024, 3, 1, 0, 0, 0, tzinfo=UTC)  # a Friday

    def after(fields: dict[str, str], moment: datetime = at) -> str:
        return Schedule.parse(fields).next_after(moment).isoformat()

    assert after({"second": "0", "minute": "30", "hour": "2"}) == "2024-03-01T02:30:00+00:00"
    assert after({"second": "0/30"}) == "2024-03-01T00:00:30+00:00"
    assert after({"second": "0/30"}, at.replace(second=30)) == "2024-03-01T00:01:00+00:00"
    weekdays = {"second": "0", "minute": "0", "dayOfWeek": "[1-5]"}
    assert after(weekdays, datetime(2024, 3, 2, 12, tzinfo=UTC)) == "2024-03-04T00:00:00+00:00"
    # An omitted finer field matches any value (EPCIS 1.2, 8.2.5.3, example 4).
    assert after({"hour": "2"}, datetime(2024, 3, 1, 2, 0, 5, tzinfo=UTC)) == (
        "2024-03-01T02:00:06+00:00"
    )
    assert after({"dayOfMonth": "29", "month": "2", "hour": "0", "minute": "0", "second": "0"}) == (
        "2028-02-29T00:00:00+00:00"
    )
    with pytest.raises(SubscriptionControlsError, match="no date ever"):
        Schedule.parse({"dayOfMonth": "31", "month": "2"})


# -- webhook delivery ------------------------------------------------------------------------


def _subscribe(client: TestClient, receiver: Receiver, name: str = "q") -> str:
    client.post("/queries", json={"name": name, "query": SOLD_OR_ACTIVE})
    body = {"dest": receiver.url, "signatureToken": TOKEN, "stream": True}
    created = client.post(f"/queries/{name}/subscriptions", json=body)
    assert created.status_code == 201, created.text
    return str(created.json()["subscriptionID"])


def test_webhook_delivers_new_events_in_order_once_signed(
    node: tuple[TestClient, EventStore, Signer], receiver: Receiver
) -> None:
    client, store, _ = node
    before, after = _fleet(1), _fleet(4)
    with client:
        _capture(client, before)  # recorded before subscribing: not new
        subscription = _subscribe(client, receiver)
        _capture(client, after[:14])
        _capture(client, after[14:])
        expected = [e["eventID"] for e in after if _matches(e)]
        _until(lambda: len(receiver.ids()) >= len(expected), "the deliveries")
        time.sleep(0.1)  # a few more polls: nothing further may arrive
        view = client.get(f"/queries/q/subscriptions/{subscription}").json()
    assert receiver.ids() == expected  # in capture order, each once, nothing from before
    for headers, body in receiver.posts:
        mac = hmac.new(TOKEN.encode(), body, hashlib.sha256).digest()
        assert headers["GS1-Signature"] == base64.b64encode(mac).decode()
        assert headers["GS1-Signature"] == gs1_signature(TOKEN, body)
        results = json.loads(body)["epcisBody"]["queryResults"]
        assert results["queryName"] == "q"
        assert results["subscriptionID"] == subscription
        assert 1 <= len(results["resultsBody"]["eventList"]) <= BATCH
    assert view["ion:position"] == store.count_events()
    assert view["lastNotifiedAt"]
    assert "ion:failures" not in view


def test_webhooks_carry_the_epc_format_asked_for_when_subscribing(
    node: tuple[TestClient, EventStore, Signer], receiver: Receiver
) -> None:
    """GS1-EPC-Format on the subscribing request is how its deliveries are written."""
    client, _, _ = node
    sgtin = "urn:epc:id:sgtin:0614141.107346.2018"
    with client:
        client.post("/queries", json={"name": "gs1", "query": {"EQ_bizStep": ["shipping"]}})
        for epc_format in ("Always_GS1_Digital_Link", "Never_Translates"):
            created = client.post(
                "/queries/gs1/subscriptions",
                json={"dest": receiver.url, "stream": True},
                headers={"GS1-EPC-Format": epc_format},
            )
            assert created.json()["ion:epcFormat"] == epc_format
        shipped = event(epcList=[sgtin], bizStep="shipping", disposition="in_transit")
        _capture(client, [shipped])
        _until(lambda: len(receiver.posts) >= 2, "both deliveries")
    forms = sorted(_events(json.loads(body))[0]["epcList"][0] for _, body in receiver.posts)
    assert forms == ["https://id.gs1.org/01/10614141073464/21/2018", sgtin]
    assert sorted(h["GS1-EPC-Format"] for h, _ in receiver.posts) == [
        "Always_GS1_Digital_Link",
        "Never_Translates",
    ]


def test_a_failing_subscriber_gets_everything_once_after_retries(
    node: tuple[TestClient, EventStore, Signer], receiver: Receiver
) -> None:
    client, _, _ = node
    events = _fleet(3)
    receiver.fail = 10**6  # down until the failure is on record
    with client:
        subscription = _subscribe(client, receiver)
        _capture(client, events)
        expected = [e["eventID"] for e in events if _matches(e)]
        url = f"/queries/q/subscriptions/{subscription}"
        _until(lambda: (client.get(url).json().get("ion:failures") or 0) >= 2, "failures")
        failing = client.get(url).json()
        receiver.fail = 0  # back up: the refused batches are retried
        _until(lambda: len(receiver.ids()) >= len(expected), "the retried deliveries")
        time.sleep(0.1)
    assert failing["ion:lastError"] == "HTTP 503"
    refused = receiver.attempts - len(receiver.posts)
    assert refused >= 2  # every refused attempt was retried, none was counted delivered
    assert receiver.ids() == expected  # each event exactly once, in order


def test_restart_neither_loses_nor_repeats(
    node: tuple[TestClient, EventStore, Signer], receiver: Receiver
) -> None:
    client, store, signer = node
    first, second, third = _fleet(1), _fleet(2), _fleet(1)
    wanted = [e["eventID"] for e in first + second + third if _matches(e)]
    with client:
        _subscribe(client, receiver)
        _capture(client, first)
        _until(lambda: len(receiver.ids()) == sum(map(_matches, first)), "the first deliveries")
        receiver.fail = 10**6  # the subscriber goes down: the second part is not acknowledged
        _capture(client, second)
        _until(lambda: receiver.attempts > len(receiver.posts), "a refused delivery")
    # While no server runs, more events are captured.
    CaptureService(store, Settings(database_url=store.url), checkpointer=None).capture(
        json.dumps(document(third)).encode()
    )
    receiver.fail = 0
    with _app(store, signer) as restarted:
        # A lease the first app still held (a retry in flight at shutdown) expires first.
        _until(
            lambda: len(receiver.ids()) >= len(wanted),
            "the deliveries after the restart",
            timeout=60,
        )
        time.sleep(0.1)
        assert restarted.get("/queries/q").status_code == 200
    assert receiver.ids() == wanted


def test_two_servers_over_one_store_deliver_once(
    node: tuple[TestClient, EventStore, Signer], receiver: Receiver
) -> None:
    client, store, signer = node
    events = _fleet(4)
    with client, _app(store, signer) as other:
        _subscribe(client, receiver)
        for part in (events[:10], events[10:20], events[20:]):
            _capture(other, part)
        expected = [e["eventID"] for e in events if _matches(e)]
        _until(lambda: len(receiver.ids()) >= len(expected), "the deliveries")
        time.sleep(0.1)
    assert receiver.ids() == expected  # the lease: one of the two delivers each batch


def test_scheduled_subscription_reports_at_its_times(
    node: tuple[TestClient, EventStore, Signer], receiver: Receiver
) -> None:
    client, _, _ = node
    events = _fleet(1)
    with client:
        client.post("/queries", json={"name": "q", "query": SOLD_OR_ACTIVE})
        body = {"dest": receiver.url, "schedule": {"second": "[0-59]"}, "reportIfEmpty": True}
        assert client.post("/queries/q/subscriptions", json=body).status_code == 201
        _until(lambda: len(receiver.posts) >= 1, "an empty scheduled report")
        assert receiver.ids() == []  # reportIfEmpty: an empty result is reported too
        _capture(client, events)
        expected = [e["eventID"] for e in events if _matches(e)]
        _until(lambda: receiver.ids() == expected, "the scheduled delivery", timeout=5)
    assert "GS1-Signature" not in receiver.posts[0][0]  # no signatureToken, no signature


# -- WebSocket -------------------------------------------------------------------------------


def test_websocket_stream_pushes_new_events(node: tuple[TestClient, EventStore, Signer]) -> None:
    client, _, _ = node
    before, after = _fleet(1), _fleet(2)
    expected = [e["eventID"] for e in after if _matches(e)]
    with client, ThreadPoolExecutor(1) as pool:
        client.post("/queries", json={"name": "q", "query": SOLD_OR_ACTIVE})
        _capture(client, before)
        with client.websocket_connect("/queries/q/subscriptions?stream=true") as ws:
            _capture(client, after)
            got: list[str] = []
            while len(got) < len(expected):
                document = pool.submit(ws.receive_json).result(timeout=10)
                assert document["epcisBody"]["queryResults"]["queryName"] == "q"
                got += [e["eventID"] for e in _events(document)]
        assert got == expected
        # From initialRecordTime on: events recorded before connecting too.
        since = "/queries/q/subscriptions?stream=true&initialRecordTime=2000-01-01T00:00:00Z"
        with client.websocket_connect(since) as ws:
            document = pool.submit(ws.receive_json).result(timeout=10)
            assert [e["eventID"] for e in _events(document)] == (
                [e["eventID"] for e in before + after if _matches(e)][:BATCH]
            )
        # The binding's own path for it, and refusals answered as problems at the handshake.
        with client.websocket_connect("/queries/q/events?stream=true") as ws:
            _capture(client, before[:1] + after[:1] + _fleet(1)[:1])
            assert _events(pool.submit(ws.receive_json).result(timeout=10))
            assert client.delete("/queries/q").status_code == 204  # ends its subscriptions
            closing = pool.submit(ws.receive).result(timeout=10)
            assert closing["type"] == "websocket.close"
            assert "deleted" in closing["reason"]
        client.post("/queries", json={"name": "q", "query": SOLD_OR_ACTIVE})
        for url, status, kind in (
            ("/queries/q/subscriptions", 400, "SubscriptionControlsException"),
            (
                "/queries/q/subscriptions?stream=true&colour=red",
                400,
                "SubscriptionControlsException",
            ),
            ("/queries/nope/subscriptions?stream=true", 404, "NoSuchResourceException"),
        ):
            with pytest.raises(WebSocketDenialResponse) as denied:
                client.websocket_connect(url).__enter__()
            _problem(denied.value, status, kind)
