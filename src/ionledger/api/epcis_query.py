"""The EPCIS 2.0 REST binding's query side: ``GET /events`` with the standard parameters, the
top-level resources (``/eventTypes``, ``/bizSteps``, ``/bizLocations``, ``/readPoints``,
``/dispositions``, ``/epcs``) and their ``/{x}/events``; pages via ``perPage`` and
``nextPageToken`` with a ``Link: <...>; rel="next"`` header."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

import msgspec
from fastapi import APIRouter, Request
from fastapi.responses import Response

from ionledger.api.epcis import VERSIONS, render
from ionledger.epcis.documents import QUERY_CONTEXT, query_document
from ionledger.ledger.leaf import record_of
from ionledger.services.query import QueryError, epcis_values, parse_query, run_query
from ionledger.store.port import EventStore

DEFAULT_PER_PAGE = 30  # the REST binding's default
MAX_PER_PAGE = 1_000  # the server's upper limit (documented in the API description)
# /{resource}/{value}/events adds this query parameter.
RESOURCES = {
    "eventTypes": "eventType",
    "bizSteps": "EQ_bizStep",
    "bizLocations": "EQ_bizLocation",
    "readPoints": "EQ_readPoint",
    "dispositions": "EQ_disposition",
    "epcs": "MATCH_anyEPC",
}


def per_page_of(request: Request) -> int:
    text = request.query_params.get("perPage", str(DEFAULT_PER_PAGE))
    if not text.isdigit() or not 1 <= int(text) <= MAX_PER_PAGE:
        raise QueryError("perPage", f"must be an integer from 1 to {MAX_PER_PAGE}, got {text!r}")
    return int(text)


def _params(request: Request) -> dict[str, list[str]]:
    params: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        params.setdefault(key, []).append(value)
    return params


def next_link(request: Request, token: str | None) -> dict[str, str]:
    if token is None:
        return {}
    items = [(k, v) for k, v in request.query_params.multi_items() if k != "nextPageToken"]
    query = urlencode([*items, ("nextPageToken", token)])
    return {"Link": f'<{request.url.path}?{query}>; rel="next"'}


def _events(store: EventStore, request: Request, extra: dict[str, str]) -> Response:
    params = _params(request)
    for key, value in extra.items():
        params.setdefault(key, []).append(value)
    query = parse_query(params)
    page = run_query(
        store,
        query,
        per_page=per_page_of(request),
        cursor=request.query_params.get("nextPageToken"),
    )
    records = [record_of(e.doc, e.record_time, e.reporter) for e in page.events]
    document = query_document(records)
    response = render(document, request.headers.get("accept"))
    response.headers.update(next_link(request, page.next_cursor))
    return response


def _collection(store: EventStore, request: Request, kind: str) -> Response:
    members, token = epcis_values(
        store,
        kind,
        per_page=per_page_of(request),
        cursor=request.query_params.get("nextPageToken"),
    )
    body = {"@context": QUERY_CONTEXT, "type": "Collection", "member": members}
    headers = {**VERSIONS, **next_link(request, token)}
    return Response(msgspec.json.encode(body), 200, headers, "application/ld+json")


def query_router(store: Callable[[], EventStore]) -> APIRouter:
    router = APIRouter(tags=["EPCIS 2.0 queries"])

    @router.get("/events", summary="Events matching the standard query parameters (paged)")
    def events(request: Request) -> Response:
        return _events(store(), request, {})

    for resource, parameter in RESOURCES.items():

        def collection(request: Request, kind: str = resource) -> Response:
            return _collection(store(), request, kind)

        def by_value(value: str, request: Request, key: str = parameter) -> Response:
            return _events(store(), request, {key: value})

        router.add_api_route(
            f"/{resource}", collection, methods=["GET"], summary=f"The {resource} seen (paged)"
        )
        router.add_api_route(
            f"/{resource}/{{value:path}}/events",
            by_value,
            methods=["GET"],
            summary=f"Events of one of the {resource} (paged)",
        )
    return router
