"""EPR certificate endpoints: issue, transfer, surrender (each a record in the log), and the
certificates and holdings a caller may read."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import msgspec
from fastapi import APIRouter, Body, Response

from ionledger.api.auth import Who
from ionledger.epr import certificates as epr
from ionledger.services.log import Checkpointer
from ionledger.store.port import EventStore

Operation = Annotated[dict[str, Any], Body(description="The operation (see docs/epr.md).")]


def _json(content: Any, status: int = 200) -> Response:
    return Response(msgspec.json.encode(content), status_code=status, media_type="application/json")


def _done(outcome: epr.Outcome) -> Response:
    # A retry with the same opId answers 200 with the first outcome; a new operation 201.
    return _json(outcome.view(), 200 if outcome.replayed else 201)


def epr_router(
    store: Callable[[], EventStore], checkpointer: Callable[[], Checkpointer | None]
) -> APIRouter:
    router = APIRouter(prefix="/epr", tags=["epr"])

    @router.post("/certificates", status_code=201, summary="Issue a certificate (the issuer)")
    def issue(who: Who, body: Operation) -> Response:
        return _done(epr.issue(store(), body, principal=who, checkpointer=checkpointer()))

    @router.post("/transfers", status_code=201, summary="Transfer grams of a certificate")
    def transfer(who: Who, body: Operation) -> Response:
        return _done(epr.transfer(store(), body, principal=who, checkpointer=checkpointer()))

    @router.post("/surrenders", status_code=201, summary="Surrender grams against an obligation")
    def surrender(who: Who, body: Operation) -> Response:
        return _done(epr.surrender(store(), body, principal=who, checkpointer=checkpointer()))

    @router.get(
        "/certificates", summary="Certificates the caller issued or holds (all: regulators)"
    )
    def certificates(who: Who) -> Response:
        return _json({"certificates": epr.certificates(store(), who)})

    @router.get("/holdings", summary="The caller's balances (anyone's: regulators)")
    def holdings(who: Who, holder: str | None = None) -> Response:
        return _json({"holdings": epr.holdings(store(), who, holder=holder)})

    return router
