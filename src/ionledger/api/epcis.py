"""The EPCIS 2.0 REST binding: capture (``/capture``, ``POST /events``) and events by ID.

Headers and statuses follow GS1's openapi.yaml: ``GS1-EPCIS-Version`` / ``GS1-CBV-Version`` on
every response and version negotiation on every request (``api/negotiation.py``), capture limits
advertised on ``OPTIONS /capture`` (``api/discovery.py``, which this router includes) and
enforced with 413, ``GS1-Capture-Error-Behaviour`` rollback / proceed, JSON-LD or XML by
Content-Type and Accept, returned events written in the ``GS1-EPC-Format`` and
``GS1-CBV-XML-Format`` asked for (:func:`render`), and errors as RFC 7807 problems typed
``epcisException:...``.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import quote

import msgspec
from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import Response
from starlette.requests import HTTPConnection

from ionledger.api.auth import Who
from ionledger.api.discovery import discovery_router
from ionledger.api.negotiation import (
    CBV_VERSION,
    EPCIS_VERSION,
    VERSIONS,
    negotiate,
    negotiation_of,
)
from ionledger.domain.gs1 import CompanyPrefixes
from ionledger.epcis.documents import (
    events_of,
    is_xml,
    query_document,
    read_document,
    write_xml,
)
from ionledger.epcis.epc_format import (
    ALWAYS_EPC_URN,
    NO_PREFIXES,
    apply_cbv_xml_format,
    apply_epc_format,
)
from ionledger.errors import (
    CaptureLimitExceeded,
    NotAcceptable,
    NotFound,
    UnsupportedMediaType,
    ValidationError,
)
from ionledger.governance.access import Principal
from ionledger.ledger.leaf import record_of
from ionledger.services.capture_jobs import CaptureService
from ionledger.services.principals import Principals
from ionledger.services.query_params import decode_token, encode_token
from ionledger.services.scoped import ScopedStore
from ionledger.services.signed_capture import HEADER as SIGNATURE_HEADER
from ionledger.services.signed_capture import CaptureSignature, verify_capture
from ionledger.store.port import EventStore

__all__ = ["CBV_VERSION", "EPCIS_VERSION", "VERSIONS", "epcis_router", "render"]
# On every EPCIS router: the version headers checked, the format headers read.
NEGOTIATED = [Depends(negotiate)]
CAPTURE_LIMIT_EVENTS = 50_000  # per request: bigger documents go through `ionledger import`
CAPTURE_LIMIT_BYTES = 64 * 1024 * 1024
JSON_TYPES = ("application/json", "application/ld+json")
XML_TYPES = ("application/xml", "text/xml")
EPCIS_PATHS = (
    "/capture",
    "/events",
    "/eventTypes",
    "/epcs",
    "/bizSteps",
    "/bizLocations",
    "/readPoints",
    "/dispositions",
    "/queries",
    "/nextPageToken",
)


def media_type(header: str | None) -> str:
    return (header or "").split(";")[0].strip().lower()


def wants_xml(accept: str | None) -> bool:
    """JSON-LD unless the client asks for XML (and not for JSON first)."""
    for part in (accept or "").split(","):
        kind = media_type(part)
        if kind in XML_TYPES:
            return True
        if kind in (*JSON_TYPES, "*/*", "application/*"):
            return False
    if accept and not any(media_type(p) in ("", "*/*") for p in accept.split(",")):
        raise NotAcceptable(f"Accept {accept!r}: this endpoint gives JSON-LD or XML")
    return False


def company_prefixes(request: HTTPConnection, epc_format: str) -> CompanyPrefixes:
    """The GS1 company prefixes the node knows, where ``epc_format`` needs them (only EPC URNs
    do): ``app.state.company_prefixes`` if set, else those of the registry's enterprises."""
    if epc_format != ALWAYS_EPC_URN:
        return NO_PREFIXES
    found = getattr(request.app.state, "company_prefixes", None)
    if isinstance(found, CompanyPrefixes):
        return found
    principals = getattr(request.app.state, "principals", None)
    return principals.company_prefixes() if isinstance(principals, Principals) else NO_PREFIXES


def render(document: dict[str, Any], request: Request, status: int = 200) -> Response:
    """An event or query document in the syntax the request accepts, its events' identifiers
    in the GS1-EPC-Format it asked for (and in XML, CBV values in its GS1-CBV-XML-Format).
    The response says which formats were applied. ``document`` is changed in place."""
    xml = wants_xml(request.headers.get("accept"))
    chosen = negotiation_of(request)
    applied = chosen.applied_epc_format
    apply_epc_format(document, applied, company_prefixes(request, applied))
    headers = {**VERSIONS, "GS1-EPC-Format": chosen.applied_epc_format}
    if xml:  # the binding defines GS1-CBV-XML-Format for XML only
        apply_cbv_xml_format(document, chosen.applied_cbv_xml_format)
        headers["GS1-CBV-XML-Format"] = chosen.applied_cbv_xml_format
        return Response(write_xml(document), status, headers, "application/xml")
    return Response(msgspec.json.encode(document), status, headers, "application/ld+json")


async def read_body(request: Request) -> bytes:
    """The request body, refused with 413 as soon as it passes the advertised limit."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > CAPTURE_LIMIT_BYTES:
        raise CaptureLimitExceeded(
            f"the body is {int(declared):,} bytes; the limit is {CAPTURE_LIMIT_BYTES:,}"
        )
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > CAPTURE_LIMIT_BYTES:
            raise CaptureLimitExceeded(f"the body exceeds {CAPTURE_LIMIT_BYTES:,} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _check_media(content_type: str | None, body: bytes) -> None:
    kind = media_type(content_type)
    if kind and kind not in (*JSON_TYPES, *XML_TYPES):
        raise UnsupportedMediaType(
            f"Content-Type {kind!r}: send application/ld+json, application/json or application/xml"
        )
    if kind in XML_TYPES and not is_xml(body):
        raise ValidationError(f"Content-Type {kind} but the body is not XML")


def _signature(request: Request, body: bytes, who: Principal) -> CaptureSignature | None:
    """The capture document's verified signature, if its enterprise signs (or it is signed)."""
    header = request.headers.get(SIGNATURE_HEADER)
    if who.enterprise is None or (header is None and "admin" in who.scopes):
        return None
    principals: Principals = request.app.state.principals
    enterprise = principals.registry().enterprise(who.enterprise)
    key = enterprise.signing_key if enterprise is not None else None
    return verify_capture(body, header, who.enterprise, key)


def _jobs_page(
    capture: CaptureService, who: Principal, request: Request
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    text = request.query_params.get("perPage", "30")
    if not text.isdigit() or not 1 <= int(text) <= 1000:
        raise ValidationError(f"perPage must be an integer from 1 to 1000, got {text!r}")
    token = request.query_params.get("nextPageToken")
    before = tuple(decode_token(token, tuple[str, str])) if token else None
    jobs = capture.jobs(who, limit=int(text) + 1, before=before)  # type: ignore[arg-type]
    page = jobs[: int(text)]
    headers: dict[str, str] = {}
    if len(jobs) > len(page):
        last = encode_token([page[-1].created_at, page[-1].capture_id])
        headers["Link"] = f'</capture?perPage={text}&nextPageToken={last}>; rel="next"'
    return [job.as_dict() for job in page], headers


def epcis_router(
    store: Callable[[], EventStore], capture: Callable[[], CaptureService]
) -> APIRouter:
    router = APIRouter(tags=["EPCIS 2.0 capture"], dependencies=NEGOTIATED)
    capture_limits = {
        "GS1-EPCIS-Capture-Limit": str(CAPTURE_LIMIT_EVENTS),
        "GS1-EPCIS-Capture-File-Size-Limit": str(CAPTURE_LIMIT_BYTES),
        # openapi.yaml: "all" is how a server announces it supports rollback and proceed.
        "GS1-Capture-Error-Behaviour": "all",
    }
    # OPTIONS on every EPCIS resource (and GET /): here, so that app.py needs no change.
    router.include_router(discovery_router({"/capture": capture_limits}))

    @router.post("/capture", status_code=202, summary="Capture an EPCIS document (a job)")
    async def capture_document(
        request: Request,
        who: Who,
        behaviour: Annotated[str, Header(alias="GS1-Capture-Error-Behaviour")] = "rollback",
    ) -> Response:
        who.require("capture")
        body = await read_body(request)
        signature = _signature(request, body, who)  # before reading: a bad one stores nothing
        _check_media(request.headers.get("content-type"), body)
        events = events_of(read_document(body))  # a document that cannot be read is a 400
        if len(events) > CAPTURE_LIMIT_EVENTS:
            raise CaptureLimitExceeded(
                f"{len(events):,} events; the limit is {CAPTURE_LIMIT_EVENTS:,} per request"
            )
        job = await asyncio.to_thread(
            capture().capture, body, behaviour=behaviour, principal=who, signature=signature
        )
        return Response(
            status_code=202,
            headers={**VERSIONS, "Location": f"/capture/{job.capture_id}"},
        )

    @router.get("/capture", summary="The caller's capture jobs, newest first (paged)")
    def capture_jobs(request: Request, who: Who) -> Response:
        jobs, headers = _jobs_page(capture(), who, request)
        return Response(msgspec.json.encode(jobs), 200, {**VERSIONS, **headers}, "application/json")

    @router.get("/capture/{capture_id}", summary="A capture job: status and per-event errors")
    def capture_job(capture_id: str, who: Who) -> Response:
        job = capture().job(capture_id, who)
        if job is None:
            raise NotFound(f"no capture job {capture_id!r}")
        return Response(msgspec.json.encode(job.as_dict()), 200, VERSIONS, "application/json")

    @router.get(
        "/capture/{capture_id}/signature",
        summary="A signed capture's evidence: the document as received, its signature and key",
    )
    def capture_signature(capture_id: str, who: Who) -> Response:
        job = capture().job(capture_id, who)
        kept = store().signed_capture(capture_id) if job is not None else None
        if kept is None:
            raise NotFound(f"no signed capture {capture_id!r}")
        kept["body"] = base64.b64encode(kept["body"]).decode()
        return Response(msgspec.json.encode(kept), 200, VERSIONS, "application/json")

    @router.post("/events", status_code=201, summary="Capture one event")
    async def capture_event(request: Request, who: Who) -> Response:
        who.require("capture")
        body = await read_body(request)
        _check_media(request.headers.get("content-type"), body)
        try:
            event = msgspec.json.decode(body)
        except msgspec.DecodeError as exc:
            raise ValidationError(f"the body is not a JSON event: {exc}") from None
        job = await asyncio.to_thread(capture().capture_event, event, who)
        if not job.success:
            first = job.errors[0] if job.errors else {"message": "refused"}
            where = f"field {first['field']}: " if first.get("field") else ""
            raise ValidationError(f"the event was refused: {where}{first.get('message')}")
        identity = job.identities[0]
        return Response(
            status_code=201,
            headers={**VERSIONS, "Location": f"/events/{quote(identity, safe='')}"},
        )

    @router.get("/events/{event_id:path}", summary="One event by its eventID (or hash ID)")
    def event_by_id(event_id: str, request: Request, who: Who) -> Response:
        who.require_events()
        found = ScopedStore(store(), who).event(event_id)
        if found is None:
            raise NotFound(f"no event {event_id!r}")
        record = record_of(found.doc, found.record_time, found.reporter)
        document = query_document([record])
        return render(document, request)

    return router
