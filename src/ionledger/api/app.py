"""The FastAPI application. Errors render as RFC 7807 problem details."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import msgspec
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

from ionledger import __version__
from ionledger.api.auth import Who
from ionledger.api.epcis import EPCIS_PATHS, epcis_router
from ionledger.api.epcis_query import query_router
from ionledger.api.epcis_subscriptions import subscriptions_router
from ionledger.api.epr import epr_router
from ionledger.api.governance import governance_router
from ionledger.api.log import log_router
from ionledger.api.reports import reports_router
from ionledger.errors import ConfigurationError, IonLedgerError
from ionledger.ledger.leaf import complete
from ionledger.ledger.note import Signer
from ionledger.services.capture_jobs import CaptureService
from ionledger.services.log import Checkpointer, load_signer
from ionledger.services.principals import Principals
from ionledger.services.subscriptions import SubscriptionService
from ionledger.services.trace import Trace, trace
from ionledger.settings import Settings
from ionledger.store.open import open_store
from ionledger.store.port import EventStore

PROBLEM = "application/problem+json"


def _battery_view(result: Trace) -> dict[str, Any]:
    return {
        "id": result.battery_id,
        "battery": msgspec.to_builtins(result.battery) if result.battery else None,
        "repurposedFrom": result.origins,
        "genealogy": msgspec.to_builtins(result.genealogy),
        "tests": msgspec.to_builtins(result.tests),
        "eventCount": len(result.timeline),
    }


def _events_view(result: Trace) -> dict[str, Any]:
    events = []
    for entry in result.timeline:
        events.append(complete(dict(entry.event), entry.record_time, entry.reporter))
    return {"id": result.battery_id, "events": events}


class MsgspecResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return msgspec.json.encode(content)


def _signer(settings: Settings) -> Signer | None:
    try:
        return load_signer(settings)
    except ConfigurationError:
        return None  # a read-only node: serves the log, signs nothing


async def _checkpoint_loop(checkpointer: Checkpointer) -> None:
    """Sign what continuous capture added, at most once per checkpoint interval."""
    while True:
        await asyncio.sleep(checkpointer.interval)
        await asyncio.to_thread(checkpointer.tick)


def create_app(
    settings: Settings, *, store: EventStore | None = None, signer: Signer | None = None
) -> FastAPI:
    """The API over ``store`` (opened from ``settings`` if not given)."""
    state: dict[str, Any] = {}
    signer = signer or _signer(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        state["store"] = store or open_store(settings.database_url)
        ticking = None
        checkpointer = None
        if signer is not None:
            checkpointer = Checkpointer(
                state["store"], signer, interval=settings.checkpoint_interval
            )
            ticking = asyncio.create_task(_checkpoint_loop(checkpointer))
        state["checkpointer"] = checkpointer
        state["principals"] = _app.state.principals = Principals(state["store"])
        state["capture"] = CaptureService(state["store"], settings, checkpointer=checkpointer)
        state["queries"] = SubscriptionService(state["store"])  # delivery: see its DeliveryConfig
        await state["queries"].start()
        yield
        await state["queries"].stop()
        if ticking is not None:
            ticking.cancel()
        if store is None:
            state["store"].close()

    app = FastAPI(
        title="ionledger",
        version=__version__,
        description="The open system of record for traction batteries.",
        lifespan=lifespan,
        docs_url=None,  # served below from local assets: nothing may need the internet
        redoc_url=None,
    )
    app.mount("/static/swagger", StaticFiles(directory=str(swagger_ui_path)), name="swagger")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="ionledger API",
            swagger_js_url="/static/swagger/swagger-ui-bundle.js",
            swagger_css_url="/static/swagger/swagger-ui.css",
            swagger_favicon_url="/static/swagger/favicon-32x32.png",
        )

    @app.exception_handler(IonLedgerError)
    async def _problem(request: Request, exc: IonLedgerError) -> JSONResponse:
        problem = exc.problem()
        if request.url.path.startswith(EPCIS_PATHS):  # the REST binding's exception types
            problem = {**problem, "type": f"epcisException:{exc.epcis_exception}"}
            problem["code"] = exc.code
        # RFC 6750: a 401 names the scheme the client should use.
        headers = {"WWW-Authenticate": 'Bearer realm="ionledger"'} if exc.status == 401 else None
        return JSONResponse(problem, status_code=exc.status, media_type=PROBLEM, headers=headers)

    @app.get("/health", summary="Liveness and store size")
    def health() -> dict[str, Any]:
        return {"status": "ok", "events": state["store"].count_events()}

    @app.get(
        "/batteries/{battery_id:path}/events",
        summary="A battery's events, in time order",
        response_class=MsgspecResponse,
    )
    def battery_events(battery_id: str, who: Who) -> MsgspecResponse:
        return MsgspecResponse(_events_view(trace(state["store"], battery_id, who)))

    @app.get(
        "/batteries/{battery_id:path}",
        summary="A battery: state, genealogy, tests",
        response_class=MsgspecResponse,
    )
    def battery(battery_id: str, who: Who) -> MsgspecResponse:
        return MsgspecResponse(_battery_view(trace(state["store"], battery_id, who)))

    app.include_router(
        log_router(lambda: state["store"], lambda: signer.verifier().vkey() if signer else None)
    )  # before the EPCIS routes: /events/{id}/proof must not read as an event ID
    app.include_router(query_router(lambda: state["store"]))  # GET /events before /events/{id}
    app.include_router(epcis_router(lambda: state["store"], lambda: state["capture"]))
    app.include_router(subscriptions_router(lambda: state["queries"]))
    app.include_router(
        governance_router(
            lambda: state["store"],
            lambda: state["principals"],
            lambda: state["checkpointer"],
        )
    )
    app.include_router(epr_router(lambda: state["store"], lambda: state["checkpointer"]))
    app.include_router(reports_router(lambda: state["store"]))
    return app
