"""EPR certificate commands: ``ionledger epr issue|transfer|surrender|holdings|certificates``.

They act as the holder of ``--token`` (the access rules apply), else as the node operator."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any

import typer
from rich.table import Table

from ionledger.cli_common import DbOption, TokenOption, console, fail, settings_of, token_of
from ionledger.errors import IonLedgerError

epr_app = typer.Typer(help="EPR certificates: issue, transfer, surrender, balances.")

OpIdOption = Annotated[
    str | None,
    typer.Option("--op-id", help="Operation ID: a retry with it applies nothing twice."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _run(db: str | None, token: str | None, action: Callable[..., Any], *, write: bool) -> Any:
    from ionledger.governance.access import Principal
    from ionledger.services.log import Checkpointer, load_signer
    from ionledger.services.principals import Principals
    from ionledger.store.open import open_store

    settings = settings_of(db)
    try:
        store = open_store(settings.database_url)
        try:
            bearer = token_of(token)
            who = Principals(store).of_token(bearer) if bearer else Principal.operator()
            if not write:
                return action(store, who)
            signer = load_signer(settings)
            checkpointer = Checkpointer(store, signer, interval=settings.checkpoint_interval)
            return action(store, who, checkpointer)
        finally:
            store.close()
    except IonLedgerError as exc:
        raise fail(exc) from exc


def _operation(kind: str, request: dict[str, Any], db: str | None, token: str | None) -> None:
    from ionledger.epr import certificates as epr

    do = {"issue": epr.issue, "transfer": epr.transfer, "surrender": epr.surrender}[kind]
    body = {k: v for k, v in request.items() if v is not None}
    outcome = _run(
        db, token, lambda s, who, cp: do(s, body, principal=who, checkpointer=cp), write=True
    )
    note = " (a retry: nothing changed)" if outcome.replayed else ""
    console.print(
        f"{kind} {outcome.op_id}: certificate {outcome.certificate}, record {outcome.seq}{note}"
    )


@epr_app.command("issue")
def issue(
    issuer: Annotated[str, typer.Option("--issuer", help="The recycler or cascade-use firm.")],
    category: Annotated[str, typer.Option("--category", help="recycling or refurbishment.")],
    grams: Annotated[int, typer.Option("--grams", help="Whole grams to certify.")],
    source: Annotated[list[int], typer.Option("--source", help="Source event seq; repeatable.")],
    year: Annotated[int | None, typer.Option("--year", help="Checked against the sources.")] = None,
    op_id: OpIdOption = None,
    token: TokenOption = None,
    db: DbOption = None,
) -> None:
    """Issue a certificate for mass the issuer processed (recycling or repurposing events)."""
    request = {"issuer": issuer, "category": category, "grams": grams, "sources": source,
               "year": year, "opId": op_id}  # fmt: skip
    _operation("issue", request, db, token)


@epr_app.command("transfer")
def transfer(
    certificate: Annotated[str, typer.Option("--certificate")],
    to: Annotated[str, typer.Option("--to", help="The receiving enterprise.")],
    grams: Annotated[int, typer.Option("--grams")],
    sender: Annotated[
        str | None, typer.Option("--from", help="The holder (default: the token's enterprise).")
    ] = None,
    op_id: OpIdOption = None,
    token: TokenOption = None,
    db: DbOption = None,
) -> None:
    """Transfer grams of a certificate to another enterprise."""
    request = {"certificate": certificate, "from": sender, "to": to, "grams": grams,
               "opId": op_id}  # fmt: skip
    _operation("transfer", request, db, token)


@epr_app.command("surrender")
def surrender(
    certificate: Annotated[str, typer.Option("--certificate")],
    year: Annotated[int, typer.Option("--year", help="The obligation year.")],
    grams: Annotated[int, typer.Option("--grams")],
    holder: Annotated[
        str | None, typer.Option("--holder", help="The producer (default: the token's).")
    ] = None,
    op_id: OpIdOption = None,
    token: TokenOption = None,
    db: DbOption = None,
) -> None:
    """Surrender grams of a certificate against a producer's obligation for a year."""
    request = {"certificate": certificate, "holder": holder, "year": year, "grams": grams,
               "opId": op_id}  # fmt: skip
    _operation("surrender", request, db, token)


@epr_app.command("holdings")
def holdings(
    holder: Annotated[str | None, typer.Option("--holder")] = None,
    as_json: JsonOption = False,
    token: TokenOption = None,
    db: DbOption = None,
) -> None:
    """Balances per certificate and holder (one's own; regulators and the operator: all)."""
    from ionledger.epr import certificates as epr

    rows = _run(db, token, lambda s, who: epr.holdings(s, who, holder=holder), write=False)
    if as_json:
        console.print_json(json.dumps({"holdings": rows}))
        return
    table = Table("certificate", "holder", "category", "year", "kg", title="EPR holdings")
    for r in rows:
        table.add_row(r["certificate"], r["holder"], r["category"], str(r["year"]),
                      f"{r['grams'] / 1000:.3f}")  # fmt: skip
    console.print(table)


@epr_app.command("certificates")
def certificates(
    as_json: JsonOption = False, token: TokenOption = None, db: DbOption = None
) -> None:
    """Certificates with their sources, holdings and surrenders."""
    from ionledger.epr import certificates as epr

    rows = _run(db, token, lambda s, who: epr.certificates(s, who), write=False)
    if as_json:
        console.print_json(json.dumps({"certificates": rows}))
        return
    table = Table("id", "issuer", "category", "year", "kg", "sources", "surrendered kg")
    for c in rows:
        gone = sum(s["grams"] for s in c["surrendered"]) / 1000
        table.add_row(c["id"], c["issuer"], c["category"], str(c["year"]),
                      f"{c['grams'] / 1000:.3f}", ", ".join(str(s["seq"]) for s in c["sources"]),
                      f"{gone:.3f}")  # fmt: skip
    console.print(table)
