"""``OPTIONS`` discovery on every resource the REST binding gives it, and ``GET /``.

One table, :data:`RESOURCES`, says which methods each resource has here; ``OPTIONS`` answers 204
with them in ``Allow`` and the GS1 headers of openapi.yaml's ``204DefaultDiscoveryResponse``
(versions and their ranges, the EPC and CBV formats, extensions, the vendor version). Resources
may add headers of their own (``/capture`` its limits). ``Allow`` lists what is implemented,
so ``/nextPageToken`` has no resource.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Mapping

import msgspec
from fastapi import APIRouter
from fastapi.responses import Response

from ionledger import __version__
from ionledger.api.negotiation import CBV_VERSION, EPCIS_VERSION, VERSIONS
from ionledger.domain.vocabulary import ION_NAMESPACE, ION_PREFIX
from ionledger.epcis.documents import STANDARD_CONTEXT

# The top-level query resources; each has /{x}, /{x}/{value} and /{x}/{value}/events.
TOP_LEVEL = ("eventTypes", "epcs", "bizSteps", "bizLocations", "readPoints", "dispositions")

# Resource (as routed: a value that may hold "/" is a :path) -> its methods besides OPTIONS.
RESOURCES: dict[str, tuple[str, ...]] = {
    "/": ("GET",),
    "/capture": ("GET", "POST"),
    "/capture/{captureID}": ("GET",),
    "/events": ("GET", "POST"),
    "/events/{eventID:path}": ("GET",),
    **{f"/{name}": ("GET",) for name in TOP_LEVEL},
    **{f"/{name}/{{value:path}}/events": ("GET",) for name in TOP_LEVEL},
    **{f"/{name}/{{value:path}}": ("GET",) for name in TOP_LEVEL},  # after .../events
    "/queries": ("GET", "POST"),
    "/queries/{queryName}": ("GET", "DELETE"),
    "/queries/{queryName}/events": ("GET",),
    "/queries/{queryName}/subscriptions": ("GET", "POST"),
    "/queries/{queryName}/subscriptions/{subscriptionID}": ("GET", "DELETE"),
}

# What the server announces. It reads EPCs in either form and CBV values in any form, and
# writes what each request's GS1-EPC-Format / GS1-CBV-XML-Format asks for: no preference.
DISCOVERY_HEADERS = {
    **VERSIONS,
    "GS1-EPCIS-Min": EPCIS_VERSION,
    "GS1-EPCIS-Max": EPCIS_VERSION,
    "GS1-CBV-Min": CBV_VERSION,
    "GS1-CBV-Max": CBV_VERSION,
    "GS1-EPC-Format": "No_Preference",
    "GS1-CBV-XML-Format": "No_Preference",
    "GS1-Extensions": f"{ION_PREFIX}={ION_NAMESPACE}",
    "GS1-Vendor-Version": f"ionledger-{__version__}",
}


def allow(path: str) -> str:
    return ", ".join(("OPTIONS", *RESOURCES[path]))


def _options(path: str, headers: Mapping[str, str]) -> Callable[..., Response]:
    def options(**_: str) -> Response:
        return Response(status_code=204, headers=dict(headers))

    # The path's parameters, declared so that the app's OpenAPI document describes them.
    names = re.findall(r"\{(\w+)(?::path)?\}", path)
    options.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, annotation=str) for n in names]
    )
    return options


def discovery_router(extra: Mapping[str, Mapping[str, str]] | None = None) -> APIRouter:
    """OPTIONS on every resource of :data:`RESOURCES` (``extra``: headers of particular
    resources), and ``GET /``: the top-level resources."""
    router = APIRouter(tags=["EPCIS 2.0 discovery"])
    for path in RESOURCES:
        headers = {"Allow": allow(path), **DISCOVERY_HEADERS, **(extra or {}).get(path, {})}
        router.add_api_route(
            path,
            _options(path, headers),
            methods=["OPTIONS"],
            status_code=204,
            summary=f"Discover {re.sub(':path', '', path)}: methods, versions, formats",
        )

    @router.get("/", summary="The top-level EPCIS resources")
    def top_level() -> Response:
        body = {
            "@context": STANDARD_CONTEXT,
            "type": "Collection",
            "member": ["queries", "capture", "events", *TOP_LEVEL],
        }
        return Response(msgspec.json.encode(body), 200, VERSIONS, "application/ld+json")

    return router
