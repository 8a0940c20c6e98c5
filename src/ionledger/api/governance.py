"""Governance endpoints: the registry, credentials, alerts and the public tier."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import msgspec
from fastapi import APIRouter, Body, Query, Response

from ionledger.api.auth import Who
from ionledger.errors import NotFound, ValidationError
from ionledger.governance.credentials import issue, revoke
from ionledger.governance.registry import RegistryChange
from ionledger.services.alerts import alert_view, find_alerts
from ionledger.services.log import Checkpointer
from ionledger.services.principals import Principals
from ionledger.services.public import public_view
from ionledger.services.registry import change_registry
from ionledger.store.port import EventStore

MAX_ALERTS = 1_000


def _json(content: Any, status: int = 200) -> Response:
    return Response(msgspec.json.encode(content), status_code=status, media_type="application/json")


def governance_router(
    store: Callable[[], EventStore],
    principals: Callable[[], Principals],
    checkpointer: Callable[[], Checkpointer | None],
) -> APIRouter:
    router = APIRouter(tags=["governance"])

    @router.get("/registry/{kind}", summary="Registry entries: enterprises, sites or whitelist")
    def registry_entries(kind: str) -> Response:
        # The registry is public master data, as MIIT publishes its white list.
        singular = {"enterprises": "enterprise", "sites": "site", "whitelist": "whitelist"}
        if kind not in singular:
            raise NotFound(f"no registry collection {kind!r} (enterprises, sites, whitelist)")
        entries = [
            {**msgspec.json.decode(doc), "recordSeq": seq}
            for _k, _key, doc, seq in store().registry_entries(singular[kind])
        ]
        return _json({kind: entries})

    @router.post("/registry/changes", status_code=201, summary="Change the registry (admin)")
    def registry_changes(
        who: Who, changes: Annotated[list[dict[str, Any]], Body(embed=True)]
    ) -> Response:
        who.require("admin")
        try:
            parsed = [msgspec.convert(c, RegistryChange) for c in changes]
        except msgspec.ValidationError as exc:
            raise ValidationError(f"registry change: {exc}") from None
        records = change_registry(store(), parsed, actor=who.label, checkpointer=checkpointer())
        return _json({"records": records}, 201)

    @router.post("/credentials", status_code=201, summary="Issue a credential (admin)")
    def create_credential(
        who: Who,
        enterprise: Annotated[str, Body()],
        scopes: Annotated[list[str], Body()],
        expires_days: Annotated[float | None, Body(alias="expiresDays")] = 365.0,
        label: Annotated[str | None, Body()] = None,
    ) -> Response:
        who.require("admin")
        registered = principals().registry().enterprise(enterprise) is not None
        issued = issue(
            store(), enterprise, scopes, expires_days=expires_days, label=label,
            registered=registered,
        )  # fmt: skip
        c = issued.credential
        return _json(
            {"id": c.id, "enterprise": c.enterprise, "scopes": list(c.scopes),
             "expiresAt": c.expires_at, "token": issued.token,
             "note": "the token is shown once; only its hash is kept"},
            201,
        )  # fmt: skip

    @router.get("/credentials", summary="Credentials (admin; secrets are never shown)")
    def list_credentials(who: Who, enterprise: str | None = None) -> Response:
        who.require("admin")
        rows = store().credentials(enterprise)
        return _json(
            {"credentials": [
                {"id": c.id, "enterprise": c.enterprise, "scopes": list(c.scopes),
                 "label": c.label, "createdAt": c.created_at, "expiresAt": c.expires_at,
                 "revokedAt": c.revoked_at}
                for c in rows
            ]}
        )  # fmt: skip

    @router.delete("/credentials/{credential_id}", status_code=204, summary="Revoke (admin)")
    def revoke_credential(who: Who, credential_id: str) -> Response:
        who.require("admin")
        revoke(store(), credential_id)
        return Response(status_code=204)

    @router.get("/alerts", summary="Alerts raised on capture, filtered")
    def alerts(
        who: Who,
        rule: Annotated[list[str] | None, Query()] = None,
        reporter: str | None = None,
        battery: str | None = None,
        province: str | None = None,
        since: str | None = None,
        until: str | None = None,
        after: int | None = None,
        limit: Annotated[int, Query(ge=1, le=MAX_ALERTS)] = 100,
    ) -> Response:
        rows = find_alerts(
            store(), who, rules=rule or [], reporter=reporter, subject=battery,
            province=province, since=since, until=until, after=after, limit=limit,
        )  # fmt: skip
        body: dict[str, Any] = {"alerts": [alert_view(a) for a in rows]}
        if len(rows) == limit:
            body["next"] = rows[-1].seq
        return _json(body)

    @router.get("/public/batteries/{battery_id:path}", summary="A battery's public tier")
    def public_battery(battery_id: str) -> Response:
        return _json(public_view(store(), battery_id))

    return router
