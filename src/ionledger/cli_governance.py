"""Governance commands: ``ionledger registry ...``, ``ionledger token ...``, ``ionledger alerts``
and ``ionledger rules``. Registry and token commands are the node operator's (whoever holds the
database); ``alerts`` obeys the access rules of the principal it acts as (``--token``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import msgspec
import typer
from rich.table import Table

from ionledger.cli_common import DbOption, TokenOption, console, fail, settings_of, token_of
from ionledger.errors import IonLedgerError, ValidationError

registry_app = typer.Typer(help="The registry of enterprises, sites and the white list.")
token_app = typer.Typer(help="API credentials (bearer tokens).")


def _change(op: str, data: dict[str, Any], db: str | None) -> None:
    from ionledger.governance.credentials import OPERATOR
    from ionledger.governance.registry import RegistryChange

    _apply([RegistryChange(op, data)], db, actor=OPERATOR)


def _apply(changes: list[Any], db: str | None, *, actor: str) -> None:
    from ionledger.services.log import Checkpointer, load_signer
    from ionledger.services.registry import change_registry
    from ionledger.store.open import open_store

    settings = settings_of(db)
    try:
        signer = load_signer(settings)
        store = open_store(settings.database_url)
        try:
            checkpointer = Checkpointer(store, signer, interval=settings.checkpoint_interval)
            records = change_registry(store, changes, actor=actor, checkpointer=checkpointer)
        finally:
            store.close()
    except IonLedgerError as exc:
        raise fail(exc) from exc
    console.print(f"{len(records)} registry record(s) appended to the log")


@registry_app.command("load")
def registry_load(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="JSON file.")],
    db: DbOption = None,
) -> None:
    """Register what a file lists: a generator registry.json, or a list of {op, data} changes."""
    from ionledger.governance.credentials import OPERATOR
    from ionledger.governance.registry import RegistryChange
    from ionledger.services.registry import changes_from_generator

    try:
        doc = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise fail(ValidationError(f"{file}: not a JSON document: {exc}")) from exc
    try:
        if isinstance(doc, dict) and "enterprises" in doc:
            changes = changes_from_generator(doc)
        else:
            changes = msgspec.convert(doc, list[RegistryChange])
    except (KeyError, msgspec.ValidationError) as exc:
        problem = ValidationError(f"{file}: not a registry file: {exc}")
        raise fail(problem) from exc
    _apply(changes, db, actor=OPERATOR)


@registry_app.command("add-enterprise")
def add_enterprise(
    enterprise_id: Annotated[str, typer.Option("--id", help="Its ion:reportedBy value.")],
    name: Annotated[str, typer.Option("--name")],
    registry_id: Annotated[str, typer.Option("--registry-id", help="Unified social credit code.")],
    role: Annotated[list[str], typer.Option("--role", help="Repeat for several roles.")],
    province: Annotated[str, typer.Option("--province", help="ISO 3166-2:CN, or CN.")],
    prefix: Annotated[
        list[str] | None, typer.Option("--prefix", help="GS1 company prefix.")
    ] = None,
    gln: Annotated[list[str] | None, typer.Option("--gln", help="Party GLN (PGLN URN).")] = None,
    maker: Annotated[
        list[str] | None, typer.Option("--manufacturer-code", help="GB/T 34014 code, 3 chars.")
    ] = None,
    signing_key: Annotated[
        str | None, typer.Option("--signing-key", help="Ed25519 public key, base64.")
    ] = None,
    db: DbOption = None,
) -> None:
    """Register an enterprise (or replace its entry)."""
    data = {
        "id": enterprise_id, "name": name, "registryId": registry_id, "roles": role,
        "province": province, "companyPrefixes": prefix or [], "glns": gln or [],
        "manufacturerCodes": maker or [], "signingKey": signing_key,
    }  # fmt: skip
    _change("enterprise.put", data, db)


@registry_app.command("add-site")
def add_site(
    gln: Annotated[str, typer.Option("--gln", help="SGLN URN of the site.")],
    enterprise: Annotated[str, typer.Option("--enterprise")],
    province: Annotated[str, typer.Option("--province")],
    kind: Annotated[str, typer.Option("--kind")],
    db: DbOption = None,
) -> None:
    """Register a site of an enterprise."""
    _change(
        "site.put", {"gln": gln, "enterprise": enterprise, "province": province, "kind": kind}, db
    )


@registry_app.command("whitelist")
def whitelist(
    enterprise: Annotated[str, typer.Option("--enterprise")],
    category: Annotated[str, typer.Option("--category", help="cascade_use or recycling.")],
    batch: Annotated[int, typer.Option("--batch", help="White-list batch number.")],
    capacity: Annotated[float, typer.Option("--capacity", help="Licensed capacity, t/yr.")],
    valid_from: Annotated[str, typer.Option("--from", help="YYYY-MM-DD.")],
    valid_to: Annotated[str | None, typer.Option("--to", help="YYYY-MM-DD.")] = None,
    db: DbOption = None,
) -> None:
    """Put an enterprise on the white list."""
    data = {
        "enterprise": enterprise, "category": category, "batch": batch,
        "capacityTpa": capacity, "validFrom": valid_from, "validTo": valid_to,
    }  # fmt: skip
    _change("whitelist.put", data, db)


@registry_app.command("revoke")
def revoke_entry(
    enterprise: Annotated[str, typer.Option("--enterprise")],
    category: Annotated[str, typer.Option("--category")],
    reason: Annotated[str, typer.Option("--reason")],
    on: Annotated[str, typer.Option("--on", help="Date the revocation takes effect.")],
    db: DbOption = None,
) -> None:
    """Revoke a white-list entry, with its reason."""
    data = {"enterprise": enterprise, "category": category, "reason": reason, "on": on}
    _change("whitelist.revoke", data, db)


@registry_app.command("show")
def registry_show(
    kind: Annotated[
        str | None, typer.Option("--kind", help="enterprise, site or whitelist.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    db: DbOption = None,
) -> None:
    """List registry entries."""
    from ionledger.store.open import open_store

    try:
        store = open_store(settings_of(db).database_url)
        rows = store.registry_entries(kind)
        store.close()
    except IonLedgerError as exc:
        raise fail(exc) from exc
    if as_json:
        docs = [
            {"kind": k, **msgspec.json.decode(doc), "recordSeq": seq} for k, _, doc, seq in rows
        ]
        typer.echo(json.dumps(docs, ensure_ascii=False))
        return
    table = Table("kind", "key", "entry")
    for k, key, doc, _seq in rows:
        table.add_row(k, key, doc.decode()[:120])
    console.print(table)


@token_app.command("create")
def token_create(
    enterprise: Annotated[str, typer.Argument(help="Registered enterprise ID, or 'operator'.")],
    scope: Annotated[list[str], typer.Option("--scope", help="capture, read or admin.")],
    days: Annotated[float, typer.Option("--days", help="Days until it expires.")] = 365.0,
    label: Annotated[str | None, typer.Option("--label")] = None,
    db: DbOption = None,
) -> None:
    """Issue a credential; the token is printed once and never stored."""
    from ionledger.governance.credentials import issue
    from ionledger.services.registry import load_registry
    from ionledger.store.open import open_store

    try:
        store = open_store(settings_of(db).database_url)
        try:
            known = load_registry(store).enterprise(enterprise) is not None
            issued = issue(
                store, enterprise, scope, expires_days=days, label=label, registered=known
            )
        finally:
            store.close()
    except IonLedgerError as exc:
        raise fail(exc) from exc
    c = issued.credential
    console.print(f"credential {c.id} for {c.enterprise} ({' '.join(c.scopes)}), "
                  f"expires {c.expires_at}; the token is shown once:")  # fmt: skip
    typer.echo(issued.token)


@token_app.command("list")
def token_list(
    enterprise: Annotated[str | None, typer.Option("--enterprise")] = None,
    db: DbOption = None,
) -> None:
    """Credentials (never their secrets)."""
    from ionledger.store.open import open_store

    try:
        store = open_store(settings_of(db).database_url)
        rows = store.credentials(enterprise)
        store.close()
    except IonLedgerError as exc:
        raise fail(exc) from exc
    table = Table("id", "enterprise", "scopes", "label", "expires", "revoked")
    for c in rows:
        table.add_row(c.id, c.enterprise, " ".join(c.scopes), c.label or "",
                      c.expires_at or "never", c.revoked_at or "")  # fmt: skip
    console.print(table)


@token_app.command("revoke")
def token_revoke(credential_id: Annotated[str, typer.Argument()], db: DbOption = None) -> None:
    """Revoke a credential at once."""
    from ionledger.governance.credentials import revoke
    from ionledger.store.open import open_store

    try:
        store = open_store(settings_of(db).database_url)
        try:
            revoke(store, credential_id)
        finally:
            store.close()
    except IonLedgerError as exc:
        raise fail(exc) from exc
    console.print(f"credential {credential_id} revoked")


def alerts(
    rule: Annotated[list[str] | None, typer.Option("--rule", help="Rule ID; repeatable.")] = None,
    reporter: Annotated[str | None, typer.Option("--reporter")] = None,
    battery: Annotated[str | None, typer.Option("--battery")] = None,
    province: Annotated[str | None, typer.Option("--province")] = None,
    since: Annotated[str | None, typer.Option("--since", help="Event time from (ISO).")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Event time before (ISO).")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1)] = 100,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    token: TokenOption = None,
    db: DbOption = None,
) -> None:
    """Alerts raised on capture (breaches of duty), filtered."""
    from ionledger.governance.access import Principal
    from ionledger.services.alerts import alert_view, find_alerts
    from ionledger.services.principals import Principals
    from ionledger.store.open import open_store

    try:
        store = open_store(settings_of(db).database_url)
        try:
            bearer = token_of(token)
            who = Principals(store).of_token(bearer) if bearer else Principal.operator()
            rows = find_alerts(
                store, who, rules=rule or [], reporter=reporter, subject=battery,
                province=province, since=since, until=until, limit=limit,
            )  # fmt: skip
        finally:
            store.close()
    except IonLedgerError as exc:
        raise fail(exc) from exc
    views = [alert_view(a) for a in rows]
    if as_json:
        typer.echo(json.dumps(views, ensure_ascii=False))
        return
    table = Table("seq", "rule", "subject", "reporter", "event time", "message")
    for v in views:
        table.add_row(str(v["seq"]), v["rule"], v["subject"], v["reporter"],
                      v["eventTime"][:10], v["message"])  # fmt: skip
    console.print(table)
    console.print(f"{len(views)} alert(s)")


def rules() -> None:
    """The rules applied on capture, with their stable IDs."""
    from ionledger.governance.catalogue import RULES

    table = Table("rule", "outcome", "what it says")
    for r in RULES:
        table.add_row(r.id, r.outcome.value, r.title)
    console.print(table)
