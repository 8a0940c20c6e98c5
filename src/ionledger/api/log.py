"""The verifiable log over HTTP: C2SP tlog-tiles resources under /log, and proofs.

``/log`` is the log's tlog-tiles prefix: ``/log/checkpoint``, ``/log/tile/<L>/<N>[.p/<W>]`` and
``/log/tile/entries/<N>[.p/<W>]``, so that standard transparency-log clients can read it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from ionledger.ledger.tiles import parse_index_path, parse_level
from ionledger.services.log import (
    checkpoint_of,
    consistency,
    entries_bytes,
    inclusion,
    tile_bytes,
)
from ionledger.store.port import EventStore

OCTETS = "application/octet-stream"
TEXT = "text/plain; charset=utf-8"
IMMUTABLE = {"Cache-Control": "public, max-age=31536000, immutable"}
MUTABLE = {"Cache-Control": "public, max-age=2"}  # the checkpoint moves; tlog-tiles: seconds


def log_router(store: Callable[[], EventStore], vkey: Callable[[], str | None]) -> APIRouter:
    router = APIRouter(tags=["verifiable log"])

    @router.get("/log/checkpoint", summary="The latest signed checkpoint (C2SP signed note)")
    def checkpoint() -> Response:
        return Response(checkpoint_of(store()).note, media_type=TEXT, headers=MUTABLE)

    @router.get("/log/key", summary="The log's public key (signed-note verifier key)")
    def key() -> Response:
        text = vkey()
        if text is None:
            return Response("this node has no log key configured\n", status_code=404)
        return Response(text + "\n", media_type=TEXT)

    @router.get("/log/tile/entries/{path:path}", summary="An entry bundle (tlog-tiles)")
    def entries(path: str) -> Response:
        index, width = parse_index_path(path)
        return Response(entries_bytes(store(), index, width), media_type=OCTETS, headers=IMMUTABLE)

    @router.get("/log/tile/{level}/{path:path}", summary="A Merkle tree tile (tlog-tiles)")
    def tile(level: str, path: str) -> Response:
        index, width = parse_index_path(path)
        data = tile_bytes(store(), parse_level(level), index, width)
        return Response(data, media_type=OCTETS, headers=IMMUTABLE)

    @router.get(
        "/log/consistency",
        summary="Consistency proof between two tree sizes (RFC 9162 §2.1.4)",
    )
    def consistency_of(
        first: Annotated[int, Query(alias="from", ge=0)],
        second: Annotated[int, Query(alias="to", ge=0)],
    ) -> dict[str, Any]:
        return consistency(store(), first, second).as_dict()

    @router.get(
        "/events/{event_id:path}/proof",
        summary="Inclusion proof of an event, with the checkpoint it verifies against",
    )
    def proof(event_id: str, size: Annotated[int | None, Query(ge=0)] = None) -> dict[str, Any]:
        return inclusion(store(), event_id, size).bundle()

    return router
