"""Fleets the generator tests share (generated once per session) and helpers to read them."""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import pytest

from ionledger.domain import vocabulary as voc
from ionledger.domain.gbt34014 import ProductType
from ionledger.domain.vocabulary import GBT_URN_PREFIX, Stage
from ionledger.governance.catalogue import BY_ID, Outcome
from ionledger.sim import GenerateResult, generate
from ionledger.sim.anomalies import ANOMALY_RULES

AGED_END = datetime.date(2036, 12, 31)  # late enough for most packs to retire
SITE_KINDS = {
    "cell_pack_factory", "vehicle_plant", "4s_store", "collection_outlet", "dismantling_plant",
    "warehouse", "second_life_plant", "recycling_plant",
}  # fmt: skip
REJECTING = {kind for kind, rule in ANOMALY_RULES.items() if BY_ID[rule].outcome is Outcome.REJECT}


@dataclass
class Run:
    out: Path
    result: GenerateResult
    docs: list[dict[str, Any]]
    truth: dict[str, Any]
    registry: dict[str, Any]

    @property
    def events(self) -> Iterator[dict[str, Any]]:
        for doc in self.docs:
            yield from doc["epcisBody"]["eventList"]

    @property
    def enterprises(self) -> dict[str, dict[str, Any]]:
        return {e["id"]: e for e in self.registry["enterprises"]}

    def planted(self) -> dict[str, tuple[str, str]]:
        """eventID -> (kind, pack code) of every planted event."""
        return {
            a["eventID"]: (a["kind"], code)
            for code, t in self.truth["packs"].items()
            for a in t["anomalies"]
        }


def _run(out: Path, **kwargs: Any) -> Run:
    result = generate(out=out, **kwargs)
    docs = [msgspec.json.decode(path.read_bytes()) for path in result.documents]
    truth = msgspec.json.decode((out / "truth.json").read_bytes())
    registry = msgspec.json.decode((out / "registry.json").read_bytes())
    return Run(out, result, docs, truth, registry)


@pytest.fixture(scope="session")
def aged(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """A small fleet seen late, mostly formal, so that every fate and (at this rate) every
    anomaly occurs."""
    out = tmp_path_factory.mktemp("aged")
    return _run(out, batteries=300, seed=11, end_date=AGED_END, anomaly_rate=0.3,
                formal_share=0.6, events_per_document=1_000)  # fmt: skip


@pytest.fixture(scope="session")
def large(tmp_path_factory: pytest.TempPathFactory) -> Run:
    out = tmp_path_factory.mktemp("large")
    return _run(out, batteries=2_000, seed=5, end_date=AGED_END)


@pytest.fixture(scope="session")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Run:
    out = tmp_path_factory.mktemp("clean")
    return _run(out, batteries=300, seed=11, end_date=AGED_END, anomaly_rate=0.0,
                formal_share=0.6)  # fmt: skip


def _gbt(uri: str) -> str | None:
    return uri[len(voc.GBT_URN_PREFIX) :] if uri.startswith(voc.GBT_URN_PREFIX) else None


def _epcs(ev: dict[str, Any]) -> list[str]:
    """Every identifier an event names in its what dimension."""
    lists = ("epcList", "childEPCs", "inputEPCList", "outputEPCList")
    ids = [uri for key in lists for uri in ev.get(key, ())]
    return [*ids, ev["parentID"]] if "parentID" in ev else ids


def _packs_of(ev: dict[str, Any]) -> list[str]:
    codes = (_gbt(uri) for uri in _epcs(ev))
    return [c for c in codes if c is not None and c[3] == ProductType.PACK]


def _by_pack(run: Run) -> dict[str, list[dict[str, Any]]]:
    """Each pack's events: those naming it, and those naming one of its modules only."""
    module_of: dict[str, str] = {}
    for ev in run.events:
        if _stage(ev) is Stage.AGGREGATION and ev["parentID"][len(GBT_URN_PREFIX) :][3] == "P":
            for child in ev["childEPCs"]:
                module_of.setdefault(child, ev["parentID"][len(GBT_URN_PREFIX) :])
    events: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for ev in run.events:
        packs = _packs_of(ev)
        if not packs:
            packs = sorted({module_of[u] for u in _epcs(ev) if u in module_of})
        for code in packs:
            events[code].append(ev)
    return events


def _time(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text)


def _stage(ev: dict[str, Any]) -> Stage | None:
    return voc.stage_of(ev.get("bizStep"), ev.get("action"))


def _shipped_to(events: list[dict[str, Any]]) -> list[str]:
    """The owning parties that shipments among ``events`` name as destination."""
    return [e["destinationList"][0]["destination"] for e in events if _stage(e) is Stage.SHIPPING]


def _soh(ev: dict[str, Any]) -> float:
    reports = ev["sensorElementList"][0]["sensorReport"]
    (value,) = [r["value"] for r in reports if r["type"] == voc.MEASURE_SOH]
    return float(value)


def _recovered(ev: dict[str, Any]) -> dict[str, float]:
    return {
        q["epcClass"][len(voc.MATERIAL_URN_PREFIX) :]: q["quantity"]
        for q in ev["outputQuantityList"]
    }


def _white_listed(enterprise: dict[str, Any], category: str, day: str) -> bool:
    return any(
        w["category"] == category
        and w["validFrom"] <= day
        and (w["validTo"] is None or day <= w["validTo"])
        for w in enterprise["whiteList"]
    )
