"""The EPCIS 2.0 REST binding's named queries and subscriptions.

``/queries`` (create, list), ``/queries/{name}`` (definition, delete), ``/queries/{name}/events``
(its results, paged like ``GET /events``), ``/queries/{name}/subscriptions[/{id}]`` (webhook
subscriptions). A WebSocket upgrade on ``/queries/{name}/subscriptions`` or (as the binding has
it) ``/queries/{name}/events`` with ``stream=true`` or schedule fields as URL parameters
subscribes for the life of the connection: each message is an ``EPCISQueryDocument``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

import msgspec
from fastapi import APIRouter, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse, Response

from ionledger.api.auth import Who, connection_principal
from ionledger.api.epcis import (
    JSON_TYPES,
    NEGOTIATED,
    VERSIONS,
    company_prefixes,
    media_type,
    read_body,
    render,
)
from ionledger.api.epcis_query import next_link, per_page_of, scoped
from ionledger.api.negotiation import Negotiated, negotiated, negotiation_of
from ionledger.domain.gs1 import CompanyPrefixes
from ionledger.epcis.documents import query_document
from ionledger.epcis.epc_format import apply_epc_format, epc_converter
from ionledger.errors import IonLedgerError, UnsupportedMediaType, ValidationError
from ionledger.ledger.leaf import record_of
from ionledger.services.query import API_PARAMETERS, QueryError, run_query
from ionledger.services.schedule import SubscriptionControlsError
from ionledger.services.subscriptions import (
    Controls,
    SubscriptionService,
    compile_query,
    parse_controls,
    query_view,
    subscription_view,
)

PROBLEM = "application/problem+json"
SCHEDULE_PARAMETERS = ("second", "minute", "hour", "dayOfMonth", "month", "dayOfWeek")
CONTROL_PARAMETERS = frozenset(
    {"stream", "reportIfEmpty", "initialRecordTime", *SCHEDULE_PARAMETERS}
)


async def _json(request: Request) -> Any:
    kind = media_type(request.headers.get("content-type"))
    if kind and kind not in JSON_TYPES:
        raise UnsupportedMediaType(f"Content-Type {kind!r}: send application/json")
    try:
        return msgspec.json.decode(await read_body(request))
    except msgspec.DecodeError as exc:
        raise ValidationError(f"the body is not JSON: {exc}") from None


def _json_response(
    body: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    headers = {**VERSIONS, **(headers or {})}
    return Response(msgspec.json.encode(body), status, headers, "application/json")


def _page_token(last: str) -> str:
    return base64.urlsafe_b64encode(last.encode()).rstrip(b"=").decode()


def _after(request: Request) -> str | None:
    token = request.query_params.get("nextPageToken")
    if token is None:
        return None
    try:
        return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise QueryError("nextPageToken", "is not a page token this server issued") from None


def _listing(request: Request, members: list[Any], keys: list[str], per_page: int) -> Response:
    """A page of a list, and a Link to the next when this page is full."""
    token = _page_token(keys[-1]) if len(keys) == per_page else None
    return _json_response(members, headers=next_link(request, token))


def _only_paging(request: Request) -> None:
    for key in request.query_params:
        if key in CONTROL_PARAMETERS:
            raise SubscriptionControlsError(key, "subscribing here needs a WebSocket upgrade")
        if key not in API_PARAMETERS:
            raise QueryError(key, "a named query's parameters are fixed: only perPage and"
                                  " nextPageToken are accepted here")  # fmt: skip


def _ws_controls(params: Mapping[str, str]) -> Controls:
    unknown = sorted(set(params) - CONTROL_PARAMETERS)
    if unknown:
        raise SubscriptionControlsError(unknown[0], "not a subscription parameter")
    schedule = {k: params[k] for k in SCHEDULE_PARAMETERS if k in params}
    return parse_controls(
        stream=params.get("stream"),
        schedule=schedule or None,
        report_if_empty=params.get("reportIfEmpty"),
        initial=params.get("initialRecordTime"),
    )


def _problem(exc: IonLedgerError) -> dict[str, Any]:
    return {**exc.problem(), "type": f"epcisException:{exc.epcis_exception}", "code": exc.code}


async def _refuse(websocket: WebSocket, exc: IonLedgerError) -> None:
    """Answer the handshake with the problem (or close with 1008 where the server cannot)."""
    problem = _problem(exc)
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        response = JSONResponse(problem, exc.status, media_type=PROBLEM)
        await websocket.send_denial_response(response)
    else:
        await websocket.close(code=1008, reason=str(problem["detail"])[:120])


def _formatted(document: bytes, chosen: Negotiated, prefixes: CompanyPrefixes) -> str:
    """A streamed query document with its events in the GS1-EPC-Format of the handshake."""
    if epc_converter(chosen.applied_epc_format, prefixes) is None:
        return document.decode()
    parsed = msgspec.json.decode(document)
    apply_epc_format(parsed, chosen.applied_epc_format, prefixes)
    return msgspec.json.encode(parsed).decode()


async def _until_closed(websocket: WebSocket) -> None:
    """Read (and ignore) what the client sends until it disconnects."""
    while (await websocket.receive())["type"] != "websocket.disconnect":
        pass


def subscriptions_router(service: Callable[[], SubscriptionService]) -> APIRouter:
    # HTTP routes negotiate through the dependency; the stream below on its handshake.
    router = APIRouter(tags=["EPCIS 2.0 named queries and subscriptions"], dependencies=NEGOTIATED)

    @router.post("/queries", status_code=201, summary="Create a named query")
    async def create_query(request: Request, who: Who) -> Response:
        who.require_events()
        body = await _json(request)
        named = await asyncio.to_thread(service().create_query, body)
        location = f"/queries/{quote(named.name, safe='')}"
        return Response(status_code=201, headers={**VERSIONS, "Location": location})

    @router.get("/queries", summary="The named queries (paged)")
    def list_queries(request: Request, who: Who) -> Response:
        who.require_events()
        per_page = per_page_of(request)
        found = service().queries(after=_after(request), limit=per_page)
        return _listing(request, [query_view(q) for q in found], [q.name for q in found], per_page)

    @router.get("/queries/{name}", summary="A named query's definition")
    def get_query(name: str, who: Who) -> Response:
        who.require_events()
        return _json_response(query_view(service().query(name)))

    @router.delete(
        "/queries/{name}", status_code=204, summary="Delete a query and its subscriptions"
    )
    def delete_query(name: str, who: Who) -> Response:
        who.require("admin")  # it ends everyone's subscriptions to it
        service().delete_query(name)
        return Response(status_code=204, headers=VERSIONS)

    @router.get("/queries/{name}/events", summary="A named query's events (paged)")
    def query_events(name: str, request: Request, who: Who) -> Response:
        _only_paging(request)
        svc = service()
        query = compile_query(svc.query(name).query)
        page = run_query(
            scoped(svc.store, who),
            query,
            per_page=per_page_of(request),
            cursor=request.query_params.get("nextPageToken"),
        )
        records = [record_of(e.doc, e.record_time, e.reporter) for e in page.events]
        response = render(query_document(records, query_name=name), request)
        response.headers.update(next_link(request, page.next_cursor))
        return response

    @router.post("/queries/{name}/subscriptions", status_code=201, summary="Subscribe (webhook)")
    async def subscribe(name: str, request: Request, who: Who) -> Response:
        who.require_events()
        body = await _json(request)
        epc_format = negotiation_of(request).applied_epc_format
        sub = await asyncio.to_thread(service().subscribe, name, body, who, epc_format)
        location = f"/queries/{quote(name, safe='')}/subscriptions/{sub.id}"
        return _json_response(subscription_view(sub), 201, {"Location": location})

    @router.get("/queries/{name}/subscriptions", summary="A query's subscriptions (paged)")
    def list_subscriptions(name: str, request: Request, who: Who) -> Response:
        who.require_events()
        per_page = per_page_of(request)
        found = service().subscriptions(name, after=_after(request), limit=per_page, principal=who)
        views = [subscription_view(s) for s in found]
        return _listing(request, views, [s.id for s in found], per_page)

    @router.get("/queries/{name}/subscriptions/{subscription_id}", summary="A subscription")
    def get_subscription(name: str, subscription_id: str, who: Who) -> Response:
        who.require_events()
        svc = service()
        sub = svc.subscription(name, subscription_id, who)
        return _json_response({**subscription_view(sub), **svc.delivery_state(sub.id)})

    @router.delete(
        "/queries/{name}/subscriptions/{subscription_id}", status_code=204, summary="Unsubscribe"
    )
    def unsubscribe(name: str, subscription_id: str, who: Who) -> Response:
        who.require_events()
        service().unsubscribe(name, subscription_id, who)
        return Response(status_code=204, headers=VERSIONS)

    async def stream(websocket: WebSocket, name: str) -> None:
        svc = service()
        try:
            chosen = negotiated(websocket.headers)
            controls = _ws_controls(websocket.query_params)
            who = connection_principal(websocket)
            watch = await asyncio.to_thread(svc.watch, name, controls, who)
        except IonLedgerError as exc:
            await _refuse(websocket, exc)
            return
        prefixes = company_prefixes(websocket, chosen.applied_epc_format)
        await websocket.accept()
        closed = asyncio.create_task(_until_closed(websocket))
        try:
            while not closed.done():
                for document in await asyncio.to_thread(watch.poll):
                    if closed.done():
                        return
                    await websocket.send_text(_formatted(document, chosen, prefixes))
                if await asyncio.to_thread(watch.gone):
                    await websocket.close(code=1000, reason="the query was deleted")
                    return
                await asyncio.wait({closed}, timeout=svc.config.poll_interval)
        except WebSocketDisconnect:
            pass
        finally:
            closed.cancel()

    router.add_api_websocket_route("/queries/{name}/subscriptions", stream)
    router.add_api_websocket_route("/queries/{name}/events", stream)
    return router
