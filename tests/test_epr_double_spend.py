"""Every way to spend an EPR gram twice, on SQLite and PostgreSQL: each is refused with its
own rule and leaves the log and every balance as they were; after all of it, ``rebuild``
reproduces the balances and the invariants hold."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from epr_kit import (
    OPERATOR,
    PACK_G,
    World,
    balances,
    build_world,
    issue,
    refused,
    state,
    surrender,
    transfer,
)
from ionledger.epr import certificates as epr
from ionledger.epr.rules import EprViolation
from ionledger.governance.registry import RegistryChange
from ionledger.services.rebuild import rebuild
from ionledger.services.registry import change_registry
from ionledger.store.port import EventStore


@pytest.fixture
def world(store: EventStore) -> World:
    return build_world(store)


def _invariants(store: EventStore) -> None:
    """Sum of holdings + surrendered == issued per certificate; issued per source <= its mass,
    counted here from the raw rows rather than trusted to the projection's own audit."""
    issued = {c.id: c.grams for c in store.epr_certificates()}  # type: ignore[attr-defined]
    kept: dict[str, int] = dict.fromkeys(issued, 0)
    for h in store.epr_holdings():  # type: ignore[attr-defined]
        assert h.grams > 0
        kept[h.certificate] += h.grams
    for s in store.epr_surrendered():  # type: ignore[attr-defined]
        kept[s.certificate] += s.grams
    assert kept == issued
    per_source: dict[int, int] = {}
    for _cert, seq, grams in store.epr_allocations():  # type: ignore[attr-defined]
        per_source[seq] = per_source.get(seq, 0) + grams
    for seq, grams in per_source.items():
        assert grams <= PACK_G, (seq, grams)  # each source here consumed one 400 kg pack
    assert epr.audit(store) == []


def test_issuing_more_than_processed(world: World) -> None:
    s, [a, b] = world.store, world.recycled
    refused(s, "epr.over-issue", lambda: issue(s, "RC", PACK_G + 1, [a]))
    refused(s, "epr.over-issue", lambda: issue(s, "RC", 2 * PACK_G + 1, [a, b]))
    cert = issue(s, "RC", 2 * PACK_G, [a, b])  # exactly what was processed
    assert balances(s) == {(cert, "RC"): 2 * PACK_G}
    _invariants(s)


def test_certifying_a_source_twice(world: World) -> None:
    s, [a, b] = world.store, world.recycled
    # In one certificate ...
    refused(s, "epr.double-certify", lambda: issue(s, "RC", 10, [a, a]))
    # ... in two: partly, then beyond what is left, then when nothing is left.
    first = issue(s, "RC", 300_000, [a])
    refused(s, "epr.over-issue", lambda: issue(s, "RC", 100_001, [a]))
    second = issue(s, "RC", 100_000, [a])
    refused(s, "epr.double-certify", lambda: issue(s, "RC", 1, [a]))
    refused(s, "epr.double-certify", lambda: issue(s, "RC", 1, [a, b]))  # a has nothing left
    # ... by another issuer (whatever its category): never its event to certify.
    refused(s, "epr.not-own-source", lambda: issue(s, "XR", 1, [b]))
    refused(s, "epr.not-own-source", lambda: issue(s, "CU", 1, [b], category="refurbishment"))
    assert balances(s) == {(first, "RC"): 300_000, (second, "RC"): 100_000}
    _invariants(s)


def test_issuing_for_another_firms_event(world: World) -> None:
    s, [a, _b] = world.store, world.recycled
    refused(s, "epr.not-own-source", lambda: issue(s, "XR", 1, [a]))
    refused(s, "epr.not-own-source", lambda: issue(s, "RC", 1, [world.repurposed],
                                                   category="refurbishment"))  # fmt: skip
    # A source must be an EPCIS event stored before the certificate.
    refused(s, "epr.unknown-source", lambda: issue(s, "RC", 1, [10**9]))
    refused(s, "epr.unknown-source", lambda: issue(s, "RC", 1, [-1]))
    refused(s, "epr.wrong-source", lambda: issue(s, "RC", 1, [a - 1]))  # RC's inspection
    refused(s, "epr.unknown-source", lambda: issue(s, "RC", 1, [0]))  # a registry record
    # Acting with another firm's credential is an access error, before anything is read.
    from ionledger.errors import Forbidden
    from ionledger.governance.access import Principal

    rc = Principal("RC", frozenset({"capture", "read"}), frozenset({"recycler"}))
    before = state(s)
    request = {"issuer": "XR", "category": "recycling", "grams": 1, "sources": [a]}
    with pytest.raises(Forbidden):
        epr.issue(s, request, principal=rc)
    assert state(s) == before


def _whitelist(store: EventStore, op: str, **data: Any) -> None:
    change_registry(store, [RegistryChange(op, data)], actor="operator")


def test_issuing_without_a_valid_white_list_entry(world: World) -> None:
    s, [a, _b] = world.store, world.recycled
    # The wrong category: RC and CU hold only the other one.
    refused(s, "epr.not-whitelisted", lambda: issue(s, "RC", 1, [a], category="refurbishment"))
    refused(s, "epr.not-whitelisted", lambda: issue(s, "CU", 1, [world.repurposed]))
    # An entry that was not yet valid on the event's date (replaced by a later one) ...
    entry = {"enterprise": "RC", "category": "recycling", "batch": 3, "capacityTpa": 10_000.0,
             "validTo": None}  # fmt: skip
    _whitelist(s, "whitelist.put", **entry, validFrom="2025-01-01")
    refused(s, "epr.not-whitelisted", lambda: issue(s, "RC", 1, [a]))
    # ... and one revoked before it.
    _whitelist(s, "whitelist.put", **entry, validFrom="2020-01-01")
    _whitelist(s, "whitelist.revoke", enterprise="RC", category="recycling",
               reason="inspection failed", on="2024-03-05")  # fmt: skip
    refused(s, "epr.not-whitelisted", lambda: issue(s, "RC", 1, [a]))
    assert balances(s) == {}


def test_transfers_beyond_the_balance(world: World) -> None:
    s, [a, _b] = world.store, world.recycled
    cert = issue(s, "RC", 100_000, [a])
    refused(s, "epr.insufficient-balance", lambda: transfer(s, cert, "RC", "BM", 100_001))
    refused(s, "epr.not-holder", lambda: transfer(s, cert, "BM", "VM", 1))  # holds none
    refused(s, "epr.not-holder", lambda: transfer(s, cert, "XR", "RC", 1))
    refused(s, "epr.unknown-certificate", lambda: transfer(s, "EPRC-NOPE", "RC", "BM", 1))
    # The same grams twice, one after the other.
    transfer(s, cert, "RC", "BM", 60_000)
    refused(s, "epr.insufficient-balance", lambda: transfer(s, cert, "RC", "VM", 60_000))
    transfer(s, cert, "RC", "VM", 40_000)
    refused(s, "epr.not-holder", lambda: transfer(s, cert, "RC", "VM", 1))  # RC spent it all
    # Split parts moved on, never beyond each part.
    refused(s, "epr.insufficient-balance", lambda: transfer(s, cert, "BM", "VM", 60_001))
    refused(s, "epr.insufficient-balance", lambda: transfer(s, cert, "VM", "BM", 40_001))
    transfer(s, cert, "BM", "VM", 60_000)
    refused(s, "epr.insufficient-balance", lambda: transfer(s, cert, "VM", "BM", 100_001))
    refused(s, "epr.not-holder", lambda: transfer(s, cert, "BM", "VM", 1))
    assert balances(s) == {(cert, "VM"): 100_000}
    _invariants(s)


def test_transfers_to_oneself_or_unknown_parties(world: World) -> None:
    s, [a, _b] = world.store, world.recycled
    cert = issue(s, "RC", 1_000, [a])
    refused(s, "epr.self-transfer", lambda: transfer(s, cert, "RC", "RC", 1))
    refused(s, "epr.unknown-party", lambda: transfer(s, cert, "RC", "NOBODY", 1))
    refused(s, "epr.bad-request", lambda: transfer(s, cert, "RC", "", 1))
    assert balances(s) == {(cert, "RC"): 1_000}


def test_surrendering_twice_or_then_moving_the_grams(world: World) -> None:
    s, [a, _b] = world.store, world.recycled
    cert = issue(s, "RC", 10_000, [a])
    transfer(s, cert, "RC", "BM", 10_000)
    refused(s, "epr.not-producer", lambda: surrender(s, cert, "RC", 1))  # a recycler
    refused(s, "epr.insufficient-balance", lambda: surrender(s, cert, "BM", 10_001))
    refused(s, "epr.bad-year", lambda: surrender(s, cert, "BM", 1, year=2023))  # before 2024
    refused(s, "epr.bad-year", lambda: surrender(s, cert, "BM", 1, year=1999))
    refused(s, "epr.bad-year", lambda: surrender(s, cert, "BM", 1, year="2024"))
    surrender(s, cert, "BM", 7_000)
    refused(s, "epr.surrendered", lambda: surrender(s, cert, "BM", 3_001))
    surrender(s, cert, "BM", 3_000, year=2025)
    refused(s, "epr.surrendered", lambda: surrender(s, cert, "BM", 1))
    refused(s, "epr.surrendered", lambda: transfer(s, cert, "BM", "VM", 1))
    assert balances(s) == {}
    assert s.epr_surrender_totals() == [  # type: ignore[attr-defined]
        ("BM", 2024, "recycling", 7.0),
        ("BM", 2025, "recycling", 3.0),
    ]
    _invariants(s)


BAD_AMOUNTS = [-1, 0, 1.5, 1.0, "10", True, None, [1], 10**12 + 1, 2**63, 2**64]


def test_bad_amounts(world: World) -> None:
    s, [a, b] = world.store, world.recycled
    cert = issue(s, "RC", 1_000, [b])
    transfer(s, cert, "RC", "BM", 500)
    for amount in BAD_AMOUNTS:
        refused(s, "epr.bad-amount", lambda x=amount: issue(s, "RC", x, [a]))
        refused(s, "epr.bad-amount", lambda x=amount: transfer(s, cert, "RC", "VM", x))
        refused(s, "epr.bad-amount", lambda x=amount: surrender(s, cert, "BM", x))
    assert balances(s) == {(cert, "RC"): 500, (cert, "BM"): 500}


def test_replaying_an_operation_id(world: World) -> None:
    s, [a, _b] = world.store, world.recycled
    request = {"opId": "rc-2024-001", "issuer": "RC", "category": "recycling",
               "grams": 1_000, "sources": [a]}  # fmt: skip
    first = epr.issue(s, request, principal=OPERATOR)
    before = state(s)
    again = epr.issue(s, dict(request), principal=OPERATOR)
    assert again.replayed
    assert (again.seq, again.certificate) == (first.seq, first.certificate)
    assert state(s) == before  # applied once
    other = {**request, "grams": 2_000}
    refused(s, "epr.replay-conflict", lambda: epr.issue(s, other, principal=OPERATOR))
    move = {"opId": "rc-2024-001", "certificate": first.certificate, "from": "RC", "to": "BM",
            "grams": 1}  # fmt: skip
    refused(s, "epr.replay-conflict", lambda: epr.transfer(s, move, principal=OPERATOR))
    move["opId"] = "move-1"
    epr.transfer(s, move, principal=OPERATOR)
    before = state(s)
    assert epr.transfer(s, dict(move), principal=OPERATOR).replayed
    assert state(s) == before
    assert balances(s) == {(first.certificate, "RC"): 999, (first.certificate, "BM"): 1}
    refused(s, "epr.bad-request", lambda: epr.transfer(s, {**move, "opId": "a b"},
                                                       principal=OPERATOR))  # fmt: skip


def _race(count: int, attempt: Any) -> tuple[int, list[str]]:
    """Run ``attempt(i)`` in ``count`` threads at once: (successes, rules of the refusals)."""
    barrier = threading.Barrier(count)
    done: list[bool] = []
    rules: list[str] = []
    errors: list[BaseException] = []

    def run(i: int) -> None:
        barrier.wait()
        try:
            attempt(i)
            done.append(True)
        except EprViolation as exc:
            rules.append(exc.rule)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    return len(done), rules


def test_concurrent_transfers_of_the_same_grams(world: World) -> None:
    s, [a, _b] = world.store, world.recycled
    cert = issue(s, "RC", 1_000, [a])
    receivers = ["BM", "VM", "DL", "DS", "CU", "BM2"]
    ok, rules = _race(len(receivers), lambda i: transfer(s, cert, "RC", receivers[i], 700))
    assert ok == 1
    assert rules == ["epr.insufficient-balance"] * (len(receivers) - 1)
    assert sum(balances(s).values()) == 1_000
    assert balances(s)[(cert, "RC")] == 300
    _invariants(s)


def test_concurrent_surrenders_and_transfers(world: World) -> None:
    s, [a, _b] = world.store, world.recycled
    cert = issue(s, "RC", 1_000, [a])
    transfer(s, cert, "RC", "BM", 1_000)

    def attempt(i: int) -> None:
        if i % 2:
            surrender(s, cert, "BM", 1_000)
        else:
            transfer(s, cert, "BM", "VM", 1_000)

    ok, rules = _race(6, attempt)
    assert ok == 1
    assert set(rules) <= {"epr.not-holder", "epr.surrendered"}
    assert len(rules) == 5
    _invariants(s)


def test_concurrent_issues_of_the_same_source(world: World) -> None:
    s, [a, _b] = world.store, world.recycled
    ok, rules = _race(4, lambda _i: issue(s, "RC", 300_000, [a]))
    assert ok == 1
    assert rules == ["epr.over-issue"] * 3
    _invariants(s)


def test_rebuild_reproduces_the_balances(world: World) -> None:
    s, [a, b] = world.store, world.recycled
    c1 = issue(s, "RC", 250_000, [a, b])
    c2 = issue(s, "RC", 400_000, [a, b])  # the rest of a, then part of b
    c3 = issue(s, "CU", 123_456, [world.repurposed], category="refurbishment")
    transfer(s, c1, "RC", "BM", 100_000)
    transfer(s, c1, "BM", "VM", 40_000)
    transfer(s, c2, "RC", "VM", 400_000)
    transfer(s, c3, "CU", "BM2", 23_456)
    surrender(s, c1, "VM", 40_000)
    surrender(s, c2, "VM", 1_001)
    surrender(s, c3, "BM2", 23_456)
    refused(s, "epr.surrendered", lambda: transfer(s, c1, "VM", "BM", 1))
    assert [(x.seq, x.certified_grams) for x in s.epr_sources()] == [  # type: ignore[attr-defined]
        (a, PACK_G), (b, 250_000), (world.repurposed, 123_456)]  # fmt: skip
    before = state(s)
    totals = s.epr_surrender_totals()  # type: ignore[attr-defined]
    assert totals == [("BM2", 2024, "refurbishment", 23.456), ("VM", 2024, "recycling", 41.001)]
    _invariants(s)
    assert rebuild(s) == before[0]
    assert state(s) == before
    _invariants(s)
    # The balances still guard: the rebuilt projection refuses what the original refused.
    refused(s, "epr.double-certify", lambda: issue(s, "RC", 1, [a]))
    refused(s, "epr.insufficient-balance", lambda: transfer(s, c2, "VM", "BM", 400_001))
    refused(s, "epr.surrendered", lambda: transfer(s, c2, "VM", "BM", 399_000))


def test_malformed_issues(world: World) -> None:
    s, [a, _b] = world.store, world.recycled
    refused(s, "epr.bad-category", lambda: issue(s, "RC", 1, [a], category="reuse"))
    refused(s, "epr.no-source", lambda: issue(s, "RC", 1, []))
    refused(s, "epr.no-source", lambda: issue(s, "RC", 1, "33"))  # type: ignore[arg-type]
    refused(s, "epr.year-mismatch", lambda: issue(s, "RC", 1, [a], year=2023))
    refused(s, "epr.bad-year", lambda: issue(s, "RC", 1, [a], year=99))
    refused(s, "epr.bad-request", lambda: issue(s, "RC", 1, [a], colour="green"))
    assert balances(s) == {}


def test_every_epr_rule_is_tested() -> None:
    from pathlib import Path

    from ionledger.epr.rules import EPR_RULES

    here = Path(__file__).parent
    source = "".join(p.read_text() for p in sorted(here.glob("test_epr_*.py")))
    for rule in EPR_RULES:
        assert f'"{rule}"' in source, f"no test names {rule}"
