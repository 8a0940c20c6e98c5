"""EPR certificates on SQLite and PostgreSQL: issued for the mass the ledger records, moved,
surrendered into the analytics table, kept in the log as records that EPCIS queries leave out,
read under the access rules, and driven from the CLI."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest
from typer.testing import CliRunner

from epr_kit import OPERATOR, PACK_G, World, build_world, issue, surrender, transfer
from ionledger.cli import app
from ionledger.epr import certificates as epr
from ionledger.epr.records import EPR_RECORD_TYPE, record_of
from ionledger.errors import Forbidden, Unauthenticated
from ionledger.governance.access import Principal
from ionledger.store.port import EventSelection, EventStore


@pytest.fixture
def world(store: EventStore) -> World:
    return build_world(store)


def _enterprise(eid: str, roles: set[str], scopes: set[str] | None = None) -> Principal:
    province = None if "national_regulator" in roles else "CN-GD"
    return Principal(eid, frozenset(scopes or {"capture", "read"}), frozenset(roles), province)


RC = _enterprise("RC", {"recycler"})
BM = _enterprise("BM", {"battery_maker"})
VM = _enterprise("VM", {"vehicle_maker"})
NR = _enterprise("NR", {"national_regulator"}, {"read"})
PGD = _enterprise("PGD", {"provincial_regulator"}, {"read"})


def test_a_certificate_from_issue_to_surrender(world: World) -> None:
    s, [a, _b] = world.store, world.recycled
    made = epr.issue(
        s,
        {"issuer": "RC", "category": "recycling", "grams": 250_000, "sources": [a], "year": 2024},
        principal=RC,  # the issuer's own credential
    )
    assert not made.replayed
    cert = made.certificate
    moved = epr.transfer(s, {"certificate": cert, "to": "BM", "grams": 100_000}, principal=RC)
    assert moved.seq == made.seq + 1  # "from" defaults to the caller
    epr.surrender(s, {"certificate": cert, "year": 2024, "grams": 60_000}, principal=BM)
    epr.surrender(s, {"certificate": cert, "year": 2025, "grams": 1_500}, principal=BM)
    expected = {"certificate": cert, "holder": "BM", "grams": 38_500,
                "category": "recycling", "year": 2024, "issuer": "RC"}  # fmt: skip
    assert epr.holdings(s, BM) == [expected]
    assert s.epr_surrender_totals() == [  # type: ignore[attr-defined]
        ("BM", 2024, "recycling", 60.0),
        ("BM", 2025, "recycling", 1.5),
    ]
    [source] = s.epr_sources()  # type: ignore[attr-defined]
    assert (source.seq, source.mass_grams, source.certified_grams) == (a, PACK_G, 250_000)
    assert epr.audit(s) == []


def test_refurbishment_certificates_count_the_repurposed_battery(world: World) -> None:
    s = world.store
    cert = issue(s, "CU", PACK_G, [world.repurposed], category="refurbishment")
    transfer(s, cert, "CU", "VM", PACK_G)
    surrender(s, cert, "VM", PACK_G)
    assert s.epr_surrender_totals() == [("VM", 2024, "refurbishment", 400.0)]  # type: ignore[attr-defined]


def test_the_contract_table_has_the_agreed_columns(world: World) -> None:
    from sqlalchemy import inspect

    columns = [c["name"] for c in inspect(s_engine(world.store)).get_columns("epr_surrenders")]
    assert columns[:4] == ["producer", "year", "category", "kg"]


def s_engine(store: EventStore):  # type: ignore[no-untyped-def]
    return store.engine  # type: ignore[attr-defined]


def test_records_are_in_the_log_but_not_in_epcis_queries(world: World) -> None:
    s, [a, _b] = world.store, world.recycled
    epcis = s.count_selected(EventSelection(), 10_000)
    made = epr.issue(s, {"opId": "op-1", "issuer": "RC", "category": "recycling", "grams": 5,
                         "sources": [a]}, principal=RC)  # fmt: skip
    [stored] = s.events_between(made.seq, made.seq + 1)
    assert stored.event_type == EPR_RECORD_TYPE
    assert stored.identity == "urn:ionledger:epr:op-1"
    assert stored.reporter == "RC"
    record = record_of(stored.doc)
    assert record.kind == "issue"
    assert record.data["sources"] == [[a, 5]]
    assert msgspec.json.decode(stored.doc)["type"] == EPR_RECORD_TYPE
    assert s.count_selected(EventSelection(), 10_000) == epcis
    assert all(e.event_type != EPR_RECORD_TYPE for e in s.select_events(EventSelection(), 10_000))
    assert EPR_RECORD_TYPE not in s.distinct_values("event_type", after=None, limit=100)


def test_only_the_parties_own_credentials_act(world: World) -> None:
    s, [a, _b] = world.store, world.recycled
    cert = issue(s, "RC", 1_000, [a])
    request = {"issuer": "RC", "category": "recycling", "grams": 1, "sources": [a]}
    with pytest.raises(Forbidden) as caught:
        epr.issue(s, request, principal=BM)
    assert caught.value.rule == "access.epr-own-account"
    with pytest.raises(Forbidden):  # the holder's token, not the receiver's
        epr.transfer(s, {"certificate": cert, "from": "RC", "to": "BM", "grams": 1}, principal=BM)
    with pytest.raises(Forbidden):  # a regulator reads, but does not move certificates
        epr.transfer(s, {"certificate": cert, "from": "RC", "to": "BM", "grams": 1}, principal=NR)
    with pytest.raises(Unauthenticated):
        epr.surrender(s, {"certificate": cert, "holder": "RC", "year": 2024, "grams": 1},
                      principal=Principal.public())  # fmt: skip
    assert epr.holdings(s, OPERATOR) == epr.holdings(s, RC)


def test_holders_read_their_own_regulators_read_all(world: World) -> None:
    s, [a, b] = world.store, world.recycled
    c1, c2 = issue(s, "RC", 1_000, [a]), issue(s, "RC", 2_000, [b])
    transfer(s, c1, "RC", "BM", 400)
    transfer(s, c2, "RC", "VM", 2_000)
    assert {(h["certificate"], h["grams"]) for h in epr.holdings(s, BM)} == {(c1, 400)}
    assert epr.holdings(s, VM) == [h for h in epr.holdings(s, NR) if h["holder"] == "VM"]
    assert len(epr.holdings(s, NR)) == 3
    assert epr.holdings(s, PGD) == epr.holdings(s, NR)
    with pytest.raises(Forbidden):
        epr.holdings(s, BM, holder="VM")
    with pytest.raises(Unauthenticated):
        epr.holdings(s, Principal.public())
    [seen] = epr.certificates(s, BM)
    assert seen["id"] == c1
    assert seen["holdings"] == [{"holder": "BM", "grams": 400}]  # not RC's balance
    assert [c["id"] for c in epr.certificates(s, RC)] == sorted([c1, c2])  # its own issues
    every = {c["id"]: c for c in epr.certificates(s, NR)}
    assert every[c1]["holdings"] == [{"holder": "BM", "grams": 400}, {"holder": "RC", "grams": 600}]
    assert every[c2]["sources"] == [{"seq": b, "grams": 2_000}]


def test_the_cli(tmp_path: Path) -> None:
    from ionledger.services.registry import load_registry
    from ionledger.store.open import open_store

    runner = CliRunner()
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert runner.invoke(app, ["init", "--db", url]).exit_code == 0
    store = open_store(url)
    try:
        world = build_world(store)
        assert load_registry(store).enterprise("RC") is not None
    finally:
        store.close()
    a = world.recycled[0]
    issued = runner.invoke(app, ["epr", "issue", "--issuer", "RC", "--category", "recycling",
                                 "--grams", "5000", "--source", str(a), "--op-id", "cli-1",
                                 "--db", url])  # fmt: skip
    assert issued.exit_code == 0, issued.output
    cert = epr.certificate_id("cli-1")
    assert cert in issued.output
    again = runner.invoke(app, ["epr", "issue", "--issuer", "RC", "--category", "recycling",
                                "--grams", "5000", "--source", str(a), "--op-id", "cli-1",
                                "--db", url])  # fmt: skip
    assert "a retry" in again.output
    moved = runner.invoke(app, ["epr", "transfer", "--certificate", cert, "--from", "RC",
                                "--to", "BM", "--grams", "2000", "--db", url])  # fmt: skip
    assert moved.exit_code == 0, moved.output
    gone = runner.invoke(app, ["epr", "surrender", "--certificate", cert, "--holder", "BM",
                               "--year", "2024", "--grams", "2001", "--db", url])  # fmt: skip
    assert gone.exit_code == 1
    assert "epr.insufficient-balance" in gone.output
    listed = runner.invoke(app, ["epr", "holdings", "--json", "--db", url])
    rows = msgspec.json.decode(listed.output)["holdings"]
    assert {(r["holder"], r["grams"]) for r in rows} == {("RC", 3000), ("BM", 2000)}
    certs = runner.invoke(app, ["epr", "certificates", "--json", "--db", url])
    [shown] = msgspec.json.decode(certs.output)["certificates"]
    assert (shown["id"], shown["grams"]) == (cert, 5000)
    verified = runner.invoke(app, ["verify", "--db", url])  # the log with EPR records verifies
    assert verified.exit_code == 0, verified.output
    rebuilt = runner.invoke(app, ["rebuild", "--db", url])
    assert rebuilt.exit_code == 0, rebuilt.output
    listed = runner.invoke(app, ["epr", "holdings", "--json", "--db", url])
    assert msgspec.json.decode(listed.output)["holdings"] == rows
