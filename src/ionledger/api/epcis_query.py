"""The EPCIS 2.0 REST binding's query side: ``GET /events`` with the standard parameters, the
top-level resources (``/eventTypes``, ``/bizSteps``, ``/bizLocations``, ``/readPoints``,
``/dispositions``, ``/epcs``), their ``/{x}/{value}`` (the sub-resources: ``events``) and
``/{x}/{value}/events``; pages via ``perPage`` and ``nextPageToken`` with a
``Link: <...>; rel="next"`` header.

Events are served with their identifiers in the client's ``GS1-EPC-Format`` (Digital Links by
default), so a client may send back either form: an EPC URN or Digital Link given to a
``MATCH_`` or location parameter (or as ``/{x}/{value}``) also matches events that were captured
with the key's other form (:func:`ionledger.epcis.epc_format.alternatives`)."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

import msgspec
from fastapi import APIRouter, Request
from fastapi.responses import Response

from ionledger.api.auth import Who
from ionledger.api.epcis import NEGOTIATED, VERSIONS, company_prefixes, render
from ionledger.api.negotiation import negotiation_of
from ionledger.epcis.documents import QUERY_CONTEXT, query_document
from ionledger.epcis.epc_format import alternatives, epc_converter
from ionledger.errors import NotFound
from ionledger.governance.access import Principal
from ionledger.ledger.leaf import record_of
from ionledger.services.query import QueryError, epcis_values, parse_query, run_query
from ionledger.services.scoped import ScopedStore
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
# Collections whose members are identifiers (written in the client's GS1-EPC-Format).
IDENTIFIER_RESOURCES = ("epcs", "readPoints", "bizLocations")
# Parameters naming identifiers exactly: each value also matches the key's other forms.
IDENTIFIER_PARAMETERS = frozenset(
    {"MATCH_epc", "MATCH_parentID", "MATCH_inputEPC", "MATCH_outputEPC", "MATCH_anyEPC",
     "EQ_readPoint", "WD_readPoint", "EQ_bizLocation", "WD_bizLocation"}
)  # fmt: skip


def per_page_of(request: Request) -> int:
    text = request.query_params.get("perPage", str(DEFAULT_PER_PAGE))
    if not text.isdigit() or not 1 <= int(text) <= MAX_PER_PAGE:
        raise QueryError("perPage", f"must be an integer from 1 to {MAX_PER_PAGE}, got {text!r}")
    return int(text)


def with_alternatives(text: str) -> str:
    """A parameter value (a ``|`` list, else a ``,`` list, as services/query.py reads them)
    with every identifier's other forms added; patterns (``*``) are left as they are."""
    values = [v.strip() for v in text.split("|" if "|" in text else ",") if v.strip()]
    found = [a for v in values for a in ([v] if v.endswith("*") else alternatives(v))]
    return "|".join(dict.fromkeys(found)) + "|"  # the trailing "|" makes it a "|" list


def _params(request: Request) -> dict[str, list[str]]:
    params: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        params.setdefault(key, []).append(value)
    return params


def _add(params: dict[str, list[str]], extra: dict[str, str]) -> dict[str, list[str]]:
    for key, value in extra.items():
        params.setdefault(key, []).append(value)
    for key in IDENTIFIER_PARAMETERS & params.keys():
        params[key] = [with_alternatives(v) for v in params[key]]
    return params


def next_link(request: Request, token: str | None) -> dict[str, str]:
    if token is None:
        return {}
    items = [(k, v) for k, v in request.query_params.multi_items() if k != "nextPageToken"]
    query = urlencode([*items, ("nextPageToken", token)])
    return {"Link": f'<{request.url.path}?{query}>; rel="next"'}


def _events(store: EventStore, request: Request, extra: dict[str, str]) -> Response:
    query = parse_query(_add(_params(request), extra))
    page = run_query(
        store,
        query,
        per_page=per_page_of(request),
        cursor=request.query_params.get("nextPageToken"),
    )
    records = [record_of(e.doc, e.record_time, e.reporter) for e in page.events]
    document = query_document(records)
    response = render(document, request)
    response.headers.update(next_link(request, page.next_cursor))
    return response


def _collection(store: EventStore, request: Request, kind: str) -> Response:
    members, token = epcis_values(
        store,
        kind,
        per_page=per_page_of(request),
        cursor=request.query_params.get("nextPageToken"),
    )
    headers = {**VERSIONS, **next_link(request, token)}
    if kind in IDENTIFIER_RESOURCES:
        applied = negotiation_of(request).applied_epc_format
        convert = epc_converter(applied, company_prefixes(request, applied))
        members = [convert(m) for m in members] if convert else members
        headers["GS1-EPC-Format"] = applied
    body = {"@context": QUERY_CONTEXT, "type": "Collection", "member": members}
    return Response(msgspec.json.encode(body), 200, headers, "application/ld+json")


def _sub_resources(store: EventStore, key: str, value: str) -> Response:
    """``/{x}/{value}``: its sub-resources (``events``), if any event has the value."""
    page = run_query(store, parse_query(_add({}, {key: value})), per_page=1)
    if not page.events:
        raise NotFound(f"no event has {value!r}")
    body = {"@context": QUERY_CONTEXT, "type": "Collection", "member": ["events"]}
    return Response(msgspec.json.encode(body), 200, VERSIONS, "application/ld+json")


def scoped(store: EventStore, principal: Principal) -> EventStore:
    """The store as the principal may read it: events need a token with the read scope, and
    every selection is narrowed to the batteries the principal may see."""
    principal.require_events()
    return ScopedStore(store, principal)  # type: ignore[return-value]


def query_router(store: Callable[[], EventStore]) -> APIRouter:
    router = APIRouter(tags=["EPCIS 2.0 queries"], dependencies=NEGOTIATED)

    @router.get("/events", summary="Events matching the standard query parameters (paged)")
    def events(request: Request, who: Who) -> Response:
        return _events(scoped(store(), who), request, {})

    for resource, parameter in RESOURCES.items():

        def collection(request: Request, who: Who, kind: str = resource) -> Response:
            return _collection(scoped(store(), who), request, kind)

        def by_value(value: str, request: Request, who: Who, key: str = parameter) -> Response:
            return _events(scoped(store(), who), request, {key: value})

        def sub_resources(value: str, who: Who, key: str = parameter) -> Response:
            return _sub_resources(scoped(store(), who), key, value)

        router.add_api_route(
            f"/{resource}", collection, methods=["GET"], summary=f"The {resource} seen (paged)"
        )
        router.add_api_route(
            f"/{resource}/{{value:path}}/events",
            by_value,
            methods=["GET"],
            summary=f"Events of one of the {resource} (paged)",
        )
        router.add_api_route(  # after .../events: a value may hold "/"
            f"/{resource}/{{value:path}}",
            sub_resources,
            methods=["GET"],
            summary=f"One of the {resource}: its sub-resources",
        )
    return router
