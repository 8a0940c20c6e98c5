"""A small world for the EPR certificate tests: the governance kit's registered enterprises,
two packs recycled by RC and one repurposed by CU, and helpers that assert a refusal names its
rule and changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from factory import code, urn, vin
from governance_kit import (
    at,
    by,
    capture,
    compliant_life,
    receive,
    recycle,
    register,
    ship,
)
from ionledger.epr import certificates as epr
from ionledger.epr.rules import EprViolation
from ionledger.governance.access import Principal
from ionledger.store.port import EventStore

OPERATOR = Principal.operator()
PACK_KG = 400.0  # governance_kit.commission's ion:massKg
PACK_G = 400_000


@dataclass
class World:
    store: EventStore
    recycled: list[int]  # seqs of RC's recycling transformations (one pack each)
    repurposed: int  # seq of CU's repurposing event (one pack)


def repurpose(who: str, original: str, second: str, day: int) -> dict[str, Any]:
    out = by(who, type="TransformationEvent", inputEPCList=[urn(original)],
             outputEPCList=[urn(second)], bizStep="ion:repurposing", eventTime=at(day))  # fmt: skip
    out.pop("action", None)
    return out


def build_world(store: EventStore) -> World:
    register(store)
    recycled = []
    for n in (1, 2):
        pack = code(maker="03H")
        report = capture(
            store, [*compliant_life(pack, vin(n)), recycle("RC", [pack], {"Ni": 31.0}, 11)]
        )
        assert report.ok, report.errors
        recycled.append(store.count_events() - 1)
    pack = code(maker="03H")
    life = compliant_life(pack, vin(3))[:7]  # collected by DL
    report = capture(store, [*life, ship("DL", pack, "CU", 8), receive("CU", pack, 9),
                             repurpose("CU", pack, code(maker="9ZZ"), 12)])  # fmt: skip
    assert report.ok, report.errors
    return World(store, recycled, store.count_events() - 1)


def state(store: EventStore) -> tuple[int, dict[str, list[tuple[object, ...]]]]:
    """What a refused operation must leave as it was: the log and every projection."""
    return store.count_events(), store.projection_snapshot()


def refused(store: EventStore, rule: str, operation: Callable[[], object]) -> EprViolation:
    before = state(store)
    with pytest.raises(EprViolation) as caught:
        operation()
    assert caught.value.rule == rule, caught.value.message
    assert state(store) == before
    return caught.value


def issue(store: EventStore, issuer: str, grams: Any, sources: list[Any], **extra: Any) -> str:
    request = {"issuer": issuer, "category": extra.pop("category", "recycling"),
               "grams": grams, "sources": sources, **extra}  # fmt: skip
    return epr.issue(store, request, principal=OPERATOR).certificate


def transfer(store: EventStore, cert: str, sender: str, to: str, grams: Any, **extra: Any) -> int:
    request = {"certificate": cert, "from": sender, "to": to, "grams": grams, **extra}
    return epr.transfer(store, request, principal=OPERATOR).seq


def surrender(store: EventStore, cert: str, holder: str, grams: Any, year: Any = 2024) -> int:
    request = {"certificate": cert, "holder": holder, "year": year, "grams": grams}
    return epr.surrender(store, request, principal=OPERATOR).seq


def balances(store: EventStore) -> dict[tuple[str, str], int]:
    return {(h.certificate, h.holder): h.grams for h in store.epr_holdings()}  # type: ignore[attr-defined]
