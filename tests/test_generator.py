"""The fleet generator: reproducible, valid EPCIS, consistent with its truth, bounded in memory;
its registry and its planted anomalies as the governance rules expect them."""

from __future__ import annotations

import collections
import datetime
import math
import tracemalloc
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import pytest

from ionledger.domain import uscc
from ionledger.domain import vocabulary as voc
from ionledger.domain.gbt34014 import ProductType, parse_code
from ionledger.domain.provinces import is_province
from ionledger.domain.vocabulary import FIELD_DECLARED_AT, GBT_URN_PREFIX, Stage
from ionledger.errors import ValidationError
from ionledger.governance.calendar import china_calendar
from ionledger.governance.catalogue import BY_ID, Outcome
from ionledger.governance.composition import content_kg
from ionledger.governance.deadlines import deadline, deadline_days
from ionledger.governance.thresholds import MASS_TOLERANCE_KG, RECOVERY_THRESHOLDS
from ionledger.services.projector import CUSTODY_STAGES
from ionledger.sim import GenerateResult, generate
from ionledger.sim import params as p
from ionledger.sim.anomalies import ANOMALY_KINDS, ANOMALY_RULES
from ionledger.sim.epcis_writer import EPCIS_CONTEXT
from ionledger.sim.identifiers import vin_check_digit
from ionledger.sim.lifecycle import FATES

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


@pytest.fixture(scope="module")
def aged(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """A small fleet seen late, mostly formal, so that every fate and (at this rate) every
    anomaly occurs."""
    out = tmp_path_factory.mktemp("aged")
    return _run(out, batteries=300, seed=11, end_date=AGED_END, anomaly_rate=0.3,
                formal_share=0.6, events_per_document=1_000)  # fmt: skip


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> Run:
    out = tmp_path_factory.mktemp("large")
    return _run(out, batteries=2_000, seed=5, end_date=AGED_END)


@pytest.fixture(scope="module")
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


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    first = generate(batteries=120, seed=3, out=tmp_path / "a")
    again = generate(batteries=120, seed=3, out=tmp_path / "b")
    generate(batteries=120, seed=4, out=tmp_path / "c")
    names = [path.name for path in first.files]
    assert names == [path.name for path in again.files]
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    for name in ("events-0000.jsonld", "truth.json", "registry.json"):
        assert (tmp_path / "a" / name).read_bytes() != (tmp_path / "c" / name).read_bytes()
    assert first.events == again.events > 0


def test_worker_processes_write_the_same_bytes(tmp_path: Path) -> None:
    one = generate(batteries=1_100, seed=9, out=tmp_path / "one", workers=1)
    two = generate(batteries=1_100, seed=9, out=tmp_path / "two", workers=2)
    assert [f.name for f in one.files] == [f.name for f in two.files]
    for f in one.files:
        assert f.read_bytes() == (tmp_path / "two" / f.name).read_bytes()


def test_documents_are_epcis_documents_of_the_requested_size(aged: Run) -> None:
    sizes = [len(doc["epcisBody"]["eventList"]) for doc in aged.docs]
    assert all(n == 1_000 for n in sizes[:-1])
    assert 0 < sizes[-1] <= 1_000
    assert sum(sizes) == aged.result.events == aged.truth["summary"]["events"]
    for doc in aged.docs:
        assert doc["@context"] == EPCIS_CONTEXT
        assert doc["type"] == "EPCISDocument"
        assert doc["schemaVersion"] == "2.0"
        assert doc["creationDate"] == f"{AGED_END.isoformat()}T23:59:59+08:00"


def test_every_event_has_what_its_stage_requires(aged: Run) -> None:
    enterprises = {e["id"] for e in aged.registry["enterprises"]}
    seen_ids: set[str] = set()
    stages: set[Stage] = set()
    attributes = {
        voc.ILMD_CHEMISTRY,
        voc.ILMD_CATEGORY,
        voc.ILMD_RATED_ENERGY_KWH,
        voc.ILMD_CAPACITY_AH,
        voc.ILMD_MASS_KG,
    }
    for ev in aged.events:
        stage = _stage(ev)
        assert stage is not None, ev
        stages.add(stage)
        spec = voc.STAGE_BY_NAME[stage]
        assert ev["type"] == spec.event_type
        assert ev.get("action") == spec.action
        assert ev.get("disposition") == spec.disposition
        assert ev["eventID"].startswith("urn:uuid:")
        assert ev["eventID"] not in seen_ids
        seen_ids.add(ev["eventID"])
        assert ev["eventTimeZoneOffset"] == "+08:00"
        assert _time(ev["eventTime"]).utcoffset() == datetime.timedelta(hours=8)
        assert ev["readPoint"]["id"].startswith("urn:epc:id:sgln:")
        assert ("bizLocation" in ev) == (stage is not Stage.SHIPPING)
        assert ev[voc.FIELD_REPORTED_BY] in enterprises
        assert is_province(ev[voc.FIELD_PROVINCE])
        if FIELD_DECLARED_AT in ev:
            assert _time(ev[FIELD_DECLARED_AT]) >= _time(ev["eventTime"])
        if spec.event_type in ("AggregationEvent", "AssociationEvent"):
            assert ev["parentID"]
            assert ev["childEPCs"]
        elif spec.event_type == "TransformationEvent":
            assert ev["inputEPCList"]
            assert "outputEPCList" in ev or "outputQuantityList" in ev
        else:
            assert ev["epcList"]
        if stage is Stage.COMMISSIONING:
            assert set(ev["ilmd"]) >= attributes
        if stage is Stage.SHIPPING:
            assert ev["sourceList"]
            assert ev["destinationList"]
        if stage in (Stage.INSTALLATION, Stage.RETIREMENT, Stage.REPLACEMENT):
            assert ev["parentID"].startswith(voc.VIN_URN_PREFIX)
    assert stages == set(Stage) - {Stage.DESTRUCTION}


def test_battery_codes_and_vins_are_valid(aged: Run) -> None:
    chemistry_of: dict[str, str] = {}
    for ev in aged.events:
        for uri in _epcs(ev):
            code = _gbt(uri)
            if code is not None:
                parsed = parse_code(code)
                assert parsed.text == code
                if _stage(ev) is Stage.COMMISSIONING:
                    chemistry_of[code] = ev["ilmd"]["ion:chemistry"]
            elif uri.startswith(voc.VIN_URN_PREFIX):
                vin = uri[len(voc.VIN_URN_PREFIX) :]
                assert len(vin) == 17
                assert not set(vin) & set("IOQ")
                assert vin[8] == vin_check_digit(vin)
            else:
                pytest.fail(f"unexpected identifier {uri}")
    assert chemistry_of
    for code, chemistry in chemistry_of.items():
        assert (code[4] == "B") == (chemistry == "LFP")


def test_each_packs_events_are_in_time_order(aged: Run) -> None:
    for events in _by_pack(aged).values():
        times = [_time(ev["eventTime"]) for ev in events]
        assert times == sorted(times)


def test_truth_agrees_with_the_events(aged: Run) -> None:
    packs = aged.truth["packs"]
    by_pack = _by_pack(aged)
    white = {e["id"] for e in aged.registry["enterprises"] if e["whiteListed"]}
    modules_of: dict[str, list[str]] = {}
    recycled_inputs: set[str] = set()
    for ev in aged.events:
        if _stage(ev) is Stage.DISMANTLING:
            modules_of[ev["parentID"][len(voc.GBT_URN_PREFIX) :]] = ev["childEPCs"]
        if _stage(ev) is Stage.RECYCLING:
            recycled_inputs.update(ev["inputEPCList"])
    fates = {f: sum(1 for t in packs.values() if t["fate"] == f) for f in FATES}
    assert fates == aged.truth["summary"]["fates"] == aged.result.fates
    assert all(n > 0 for n in fates.values())
    for code, t in packs.items():
        events = by_pack[code]
        stages = [_stage(ev) for ev in events]
        kinds = collections.Counter(a["kind"] for a in t["anomalies"])
        commissioned = [
            ev for ev in events if _stage(ev) is Stage.COMMISSIONING and code in _packs_of(ev)
        ]
        assert (
            len(commissioned)
            == 1 + kinds["duplicate_commissioning"] + kinds["counterfeit_commissioning"]
        )
        if t["fate"] == "formal_recycled":
            assert set(modules_of[code]) <= recycled_inputs
        if t["fate"] == "formal_second_life":
            repurposed = [ev for ev in events if _stage(ev) is Stage.REPURPOSING]
            ev = repurposed[-1]  # a planted one (by a firm not listed for it) comes first
            assert ev["outputEPCList"] == [voc.GBT_URN_PREFIX + t["secondLifeCode"]]
            assert ev["ilmd"]["ion:originalCode"] == GBT_URN_PREFIX + code
        if t["fate"] == "informal":
            assert t["channel"] == "informal"
            assert not any(ev[voc.FIELD_REPORTED_BY] in white for ev in events)
            recycled = stages.count(Stage.RECYCLING)
            assert recycled == kinds["recycling_not_white_listed"]  # by the dismantler
            assert Stage.REPURPOSING not in stages
        if t["fate"] == "in_service":
            assert t["retired"] is None
            assert t["channel"] is None
            assert Stage.RETIREMENT not in stages
            assert Stage.REPLACEMENT not in stages
        removals = [ev for ev in events if _stage(ev) in (Stage.RETIREMENT, Stage.REPLACEMENT)]
        for ev in removals:
            assert ev["eventTime"][:10] == t["retired"]
        if "replacedBy" in t:
            assert packs[t["replacedBy"]]["replaces"] == code
            assert Stage.REPLACEMENT in stages


def test_diversions_are_planted_shipments_to_unregistered_parties(aged: Run) -> None:
    registered = {e["pgln"] for e in aged.registry["enterprises"]}
    unregistered = {w["pgln"] for w in aged.truth["unregisteredParties"]}
    assert not registered & unregistered
    diverted = {c for c, t in aged.truth["packs"].items() if t.get("informal") == "diverted"}
    assert diverted
    by_id = {ev["eventID"]: ev for ev in aged.events}
    by_pack = _by_pack(aged)
    for code, t in aged.truth["packs"].items():
        to = _shipped_to(by_pack[code])
        assert (bool(to) and to[-1] in unregistered) == (code in diverted)
        assert not set(to[:-1]) & unregistered
        diversions = [a for a in t["anomalies"] if a["kind"] == "diversion"]
        assert len(diversions) == (code in diverted)
        for a in diversions:
            ev = by_id[a["eventID"]]
            assert ev["destinationList"][0]["destination"] == to[-1]
            assert t["retired"] is not None
            assert ev["eventTime"][:10] > t["retired"]


def test_clean_recycling_meets_the_recovery_thresholds_within_the_content(aged: Run) -> None:
    """What a clean recycling reports is between the threshold share and the content of its
    input modules (counted by the pack's energy or by the modules' own), within 1 g."""
    planted = aged.planted()
    packs = aged.truth["packs"]
    modules_to_pack: dict[str, tuple[str, int]] = {}
    module_kwh: dict[str, float] = {}
    for ev in aged.events:
        if _stage(ev) is Stage.DISMANTLING:
            code = ev["parentID"][len(GBT_URN_PREFIX) :]
            for m in ev["childEPCs"]:
                modules_to_pack[m] = (code, len(ev["childEPCs"]))
        if _stage(ev) is Stage.COMMISSIONING and _gbt(ev["epcList"][0] or "")[3:4] == "M":
            for m in ev["epcList"]:
                module_kwh[m] = ev["ilmd"][voc.ILMD_RATED_ENERGY_KWH]
    checked = 0
    for ev in aged.events:
        if _stage(ev) is not Stage.RECYCLING or ev["eventID"] in planted:
            continue
        inputs = ev["inputEPCList"]
        code, n_mod = modules_to_pack[inputs[0]]
        assert len(inputs) == n_mod
        t = packs[code]
        got = _recovered(ev)
        assert all(q["uom"] == "KGM" for q in ev["outputQuantityList"])
        for energy in (t["kWh"], sum(module_kwh[m] for m in inputs)):
            content = content_kg(t["chemistry"], energy)
            assert content is not None
            assert set(got) == {m for m, kg in content.items() if kg > 0}
            for element, kg in got.items():
                assert kg <= content[element] + MASS_TOLERANCE_KG
                if element in RECOVERY_THRESHOLDS:
                    threshold = RECOVERY_THRESHOLDS[element] * content[element]
                    assert kg + MASS_TOLERANCE_KG >= threshold
        recovery = dict(zip(p.MATERIALS, p.RECOVERY, strict=True))
        content = content_kg(t["chemistry"], t["kWh"])
        assert content is not None
        assert got == pytest.approx({m: content[m] * recovery[m] for m in got}, abs=0.01)
        checked += 1
    assert checked


def _custodian(events: list[dict[str, Any]], rejected: set[str]) -> str | None:
    """Who holds the pack after these (stored) events."""
    holder = None
    for e in events:
        if e["eventID"] not in rejected and _stage(e) in CUSTODY_STAGES:
            holder = e[voc.FIELD_REPORTED_BY]
    return holder


def test_planted_anomalies_are_in_the_events(aged: Run) -> None:
    by_id = {ev["eventID"]: ev for ev in aged.events}
    by_pack = _by_pack(aged)
    ents = aged.enterprises
    rejected = {eid for eid, (kind, _) in aged.planted().items() if kind in REJECTING}
    low, high = aged.truth["sohPlausible"]
    kinds: set[str] = set()
    for code, t in aged.truth["packs"].items():
        for anomaly in t["anomalies"]:
            kind, ev = anomaly["kind"], by_id[anomaly["eventID"]]
            assert anomaly["rule"] == ANOMALY_RULES[kind]
            kinds.add(kind)
            reporter = ents[ev[voc.FIELD_REPORTED_BY]]
            when = _time(ev["eventTime"])
            day = ev["eventTime"][:10]
            earlier = [
                e
                for e in by_pack[code]
                if _time(e["eventTime"]) < when and e["eventID"] not in rejected
            ]
            stage = _stage(ev)
            modules = next(
                e["childEPCs"]
                for e in by_pack[code]
                if _stage(e) is Stage.AGGREGATION and e["parentID"] == GBT_URN_PREFIX + code
            )
            assert code in _packs_of(ev) or set(_epcs(ev)) & set(modules)
            if kind == "duplicate_commissioning":
                assert stage is Stage.COMMISSIONING
                assert reporter["id"] == t["batteryMaker"]
                assert Stage.SHIPPING not in [_stage(e) for e in earlier]
            elif kind == "counterfeit_commissioning":
                assert stage is Stage.COMMISSIONING
                assert reporter["id"] != t["batteryMaker"]
                assert "battery_maker" in reporter["roles"]
                assert code[:3] not in reporter["manufacturerCodes"]
            elif kind == "receive_without_shipment":
                assert stage is Stage.RECEIVING
                assert "sourceList" not in ev
                assert reporter["pgln"] not in _shipped_to(earlier)
            elif kind == "ship_by_non_custodian":
                assert stage is Stage.SHIPPING
                assert _custodian(earlier, rejected) not in (None, reporter["id"])
            elif kind == "diversion":
                assert stage is Stage.SHIPPING
                assert _custodian(earlier, rejected) == reporter["id"]
            elif kind == "installation_after_recycling":
                assert stage is Stage.INSTALLATION
                assert t["fate"] == "formal_recycled"
                recycled = {
                    m for e in earlier if _stage(e) is Stage.RECYCLING for m in e["inputEPCList"]
                }
                assert ev["childEPCs"][0] in recycled
            elif kind == "second_vehicle":
                assert stage is Stage.INSTALLATION
                installed = [e for e in earlier if _stage(e) is Stage.INSTALLATION]
                assert installed
                assert installed[-1]["parentID"] != ev["parentID"]
                assert not any(_stage(e) in (Stage.RETIREMENT, Stage.REPLACEMENT) for e in earlier)
                assert _custodian(earlier, rejected) == reporter["id"]
            elif kind == "second_pack":
                assert stage is Stage.AGGREGATION
                assert ev["parentID"] != GBT_URN_PREFIX + code
                assert code[:3] in reporter["manufacturerCodes"]
            elif kind == "recycling_not_white_listed":
                assert stage is Stage.RECYCLING
                assert not _white_listed(reporter, "recycling", day)
                assert _custodian(earlier, rejected) == reporter["id"]
            elif kind == "repurposing_not_white_listed":
                assert stage is Stage.REPURPOSING
                assert not _white_listed(reporter, "cascade_use", day)
                assert _custodian(earlier, rejected) == reporter["id"]
            elif kind in ("mass_balance", "low_recovery"):
                assert stage is Stage.RECYCLING
                assert _white_listed(reporter, "recycling", day)
                content = content_kg(t["chemistry"], t["kWh"])
                assert content is not None
                got = _recovered(ev)
                over = [m for m, kg in got.items() if kg > content[m] * 1.04]
                short = [
                    m
                    for m, kg in got.items()
                    if m in RECOVERY_THRESHOLDS and kg < RECOVERY_THRESHOLDS[m] * content[m] * 0.96
                ]
                assert (len(over), len(short)) == ((1, 0) if kind == "mass_balance" else (0, 1))
            elif kind == "late_report":
                assert stage in (Stage.INSTALLATION, Stage.COLLECTION)
                roles = set(reporter["roles"])
                last = deadline(china_calendar(), stage, roles, datetime.date.fromisoformat(day))
                assert last is not None
                declared = datetime.date.fromisoformat(ev[FIELD_DECLARED_AT][:10])
                assert declared > last
                days = deadline_days(stage, roles)
                assert days is not None
                late = china_calendar().working_days_between(
                    datetime.date.fromisoformat(day), declared
                )
                assert late > days
            else:
                assert kind == "soh_out_of_band"
                assert not low <= _soh(ev) <= high
    for item in aged.truth["registryAnomalies"]:
        assert item["rule"] == ANOMALY_RULES[item["kind"]]
        kinds.add(item["kind"])
    assert kinds == set(ANOMALY_KINDS)
    assert aged.truth["anomalyKinds"] == list(ANOMALY_KINDS)
    assert aged.truth["anomalyRules"] == ANOMALY_RULES
    summary = aged.truth["summary"]["anomalies"]
    assert summary == aged.result.anomalies
    assert set(summary) == set(ANOMALY_KINDS)
    counted = collections.Counter(a["kind"] for t in aged.truth["packs"].values()
                                  for a in t["anomalies"])  # fmt: skip
    counted.update(a["kind"] for a in aged.truth["registryAnomalies"])
    assert summary == {kind: counted[kind] for kind in ANOMALY_KINDS}


def test_each_kind_is_planted_at_the_rate_without_changing_the_clean_fleet(
    tmp_path: Path,
) -> None:
    """At rate 1 every pack where a kind can occur gets one; at rate r about r of them do.
    The plan's draws do not depend on the rate, so the fleet itself stays the same."""
    args: dict[str, Any] = {"batteries": 1_000, "seed": 21, "end_date": AGED_END,
                            "formal_share": 0.6}  # fmt: skip
    every = _run(tmp_path / "all", anomaly_rate=1.0, **args)
    some = _run(tmp_path / "some", anomaly_rate=0.25, **args)
    assert every.truth["summary"]["fates"] == some.truth["summary"]["fates"]
    # (Codes may differ: planted new codes take serials.)
    fates = [(t["fate"], t["kWh"], t["produced"]) for t in every.truth["packs"].values()]
    assert fates == [(t["fate"], t["kWh"], t["produced"]) for t in some.truth["packs"].values()]
    eligible, planted = every.result.anomalies, some.result.anomalies
    recyclers = {a["enterprise"] for a in every.truth["registryAnomalies"]}
    picked = {a["enterprise"] for a in some.truth["registryAnomalies"]}
    assert picked <= recyclers
    for kind in ANOMALY_KINDS:
        if kind == "over_capacity":
            n, k = len(recyclers), len(picked)
        else:
            n, k = eligible[kind], planted[kind]
        assert n >= 15, (kind, n)
        sigma = math.sqrt(n * 0.25 * 0.75)
        assert abs(k - 0.25 * n) <= 4 * sigma + 1, (kind, k, n)


def test_no_anomalies_at_rate_zero(clean: Run) -> None:
    assert clean.truth["anomalyKinds"] == []
    assert not any(t["anomalies"] for t in clean.truth["packs"].values())
    assert clean.truth["registryAnomalies"] == []
    assert not any(clean.result.anomalies.values())
    assert not any(t.get("informal") == "diverted" for t in clean.truth["packs"].values())
    unregistered = {w["pgln"] for w in clean.truth["unregisteredParties"]}
    assert not any(
        ev["destinationList"][0]["destination"] in unregistered
        for ev in clean.events
        if _stage(ev) is Stage.SHIPPING
    )
    low, high = p.SOH_PLAUSIBLE
    tests = [ev for ev in clean.events if _stage(ev) is Stage.TESTING]
    assert tests
    assert all(low <= _soh(ev) <= high for ev in tests)


@pytest.mark.parametrize("fixture", ["aged", "clean"])
def test_declarations_meet_the_working_day_deadlines(
    fixture: str, request: pytest.FixtureRequest
) -> None:
    """Every event its reporter owes a report for is declared by the deadline day (China's
    working days, governance.deadlines), except the planted late reports, declared after it;
    the others carry no ion:declaredAt."""
    run: Run = request.getfixturevalue(fixture)
    roles = {e["id"]: set(e["roles"]) for e in run.registry["enterprises"]}
    late = {eid for eid, (kind, _) in run.planted().items() if kind == "late_report"}
    calendar = china_calendar()
    owed = 0
    for ev in run.events:
        stage = _stage(ev)
        who = roles[ev[voc.FIELD_REPORTED_BY]]
        if deadline_days(stage, who) is None:
            assert FIELD_DECLARED_AT not in ev, ev
            continue
        owed += 1
        day = datetime.date.fromisoformat(ev["eventTime"][:10])
        last = deadline(calendar, stage, who, day)
        assert last is not None
        assert ev[FIELD_DECLARED_AT].endswith("+08:00")
        declared = datetime.date.fromisoformat(ev[FIELD_DECLARED_AT][:10])
        assert (declared > last) == (ev["eventID"] in late), ev
    assert owed > 500


def test_white_listed_work_is_done_by_firms_listed_that_day(aged: Run) -> None:
    ents, planted = aged.enterprises, aged.planted()
    category = {Stage.REPURPOSING: "cascade_use", Stage.RECYCLING: "recycling"}
    seen = collections.Counter()
    for ev in aged.events:
        stage = _stage(ev)
        if stage not in (Stage.REPURPOSING, Stage.RECYCLING, Stage.DISMANTLING):
            continue
        if planted.get(ev["eventID"], ("",))[0].endswith("_not_white_listed"):
            continue
        firm, day = ents[ev[voc.FIELD_REPORTED_BY]], ev["eventTime"][:10]
        wanted = [category[stage]] if stage in category else ["recycling", "cascade_use"]
        assert any(_white_listed(firm, c, day) for c in wanted), (stage, firm["id"], day)
        seen[stage] += 1
    assert len(seen) == 3


def test_registry_schema(aged: Run) -> None:
    reg = aged.registry
    assert reg["schemaVersion"] == 2
    assert reg["seed"] == 11
    ents = reg["enterprises"]
    ids = [e["registryId"] for e in ents]
    assert len(set(ids)) == len(ids)
    used = set()
    for e in ents:
        assert uscc.is_valid(e["registryId"]), e["registryId"]
        assert e["registryId"][8:16].isdigit()
        assert e["registryId"][16] == uscc.org_check_char(e["registryId"][8:16])
        assert e["whiteListed"] == bool(e["whiteList"])
        assert len(e["companyPrefix"]) == 7
        for site in e["sites"]:
            assert site["kind"] in SITE_KINDS
            assert is_province(site["province"])
            used.add(site["province"])
        roles = set(e["roles"])
        categories = [w["category"] for w in e["whiteList"]]
        assert sorted(categories) == sorted(
            {"cascade_user": "cascade_use", "recycler": "recycling"}[r]
            for r in roles & {"cascade_user", "recycler"}
        )
        for w in e["whiteList"]:
            assert set(w) == {"category", "batch", "capacityTpa", "validFrom", "validTo"}
            assert 1 <= w["batch"] <= 5
            assert w["validFrom"] == p.WHITE_LIST_BATCH_DATES[w["batch"] - 1]
            assert w["validTo"] is None
            assert isinstance(w["capacityTpa"], float)
            assert w["capacityTpa"] > 0
        if roles & {"national_regulator", "provincial_regulator"}:
            assert e["registryId"][:2] == "11"
            assert e["sites"] == []
            assert e["manufacturerCodes"] == []
            assert e["wmi"] == []
        else:
            assert e["registryId"][:2] == "91"
            assert e["registryId"][2:4] == uscc.PROVINCE_DIVISIONS[e["province"]]
    national = [e for e in ents if "national_regulator" in e["roles"]]
    assert [(e["province"], e["registryId"][2:8]) for e in national] == [("CN", "100000")]
    provincial = [e["province"] for e in ents if "provincial_regulator" in e["roles"]]
    assert sorted(provincial) == sorted(used)
    over = {a["enterprise"] for a in aged.truth["registryAnomalies"]}
    capacities = [
        w["capacityTpa"]
        for e in ents
        if e["id"] not in over
        for w in e["whiteList"]
        if w["category"] == "recycling"
    ]
    assert capacities
    assert all(p.RECYCLING_CAPACITY_TPA[0] <= c <= p.RECYCLING_CAPACITY_TPA[1] for c in capacities)
    assert all(c % 500 == 0 for c in capacities)


def test_the_registry_loads_into_the_governance_registry(aged: Run) -> None:
    """registry.json is what ``ionledger registry load`` registers: every change checks."""
    from ionledger.governance.registry import Registry
    from ionledger.services.registry import changes_from_generator

    registry = Registry()
    changes = changes_from_generator(aged.registry)
    for change in changes:
        kind, _key, entry = registry.check(change)
        registry.put(kind, entry)
    assert len(registry.enterprises) == len(aged.registry["enterprises"])
    assert registry.whitelist


def test_over_capacity_is_what_recyclers_process_above_their_licence(aged: Run) -> None:
    """Tonnage per recycler and year from its recycling reports (planted rejected ones do not
    count): the planted recyclers exceed their capacity in exactly the listed years, by pack
    mass and by module mass alike; no other recycler ever reaches its capacity."""
    ents, planted = aged.enterprises, aged.planted()
    mass_of: dict[str, tuple[float, float]] = {}  # module -> (share of pack mass, own mass)
    pack_mass: dict[str, float] = {}
    own: dict[str, float] = {}
    for ev in aged.events:
        if _stage(ev) is Stage.COMMISSIONING and "ilmd" in ev:
            for uri in ev["epcList"]:
                own[uri] = ev["ilmd"][voc.ILMD_MASS_KG]
        if _stage(ev) is Stage.DISMANTLING:
            pack_mass[ev["parentID"]] = own[ev["parentID"]]
            for m in ev["childEPCs"]:
                mass_of[m] = (own[ev["parentID"]] / len(ev["childEPCs"]), own[m])
    tonnes: dict[tuple[str, int], list[float]] = defaultdict(lambda: [0.0, 0.0])
    for ev in aged.events:
        kind = planted.get(ev["eventID"], ("",))[0]
        if _stage(ev) is not Stage.RECYCLING or kind in REJECTING:
            continue
        key = (ev[voc.FIELD_REPORTED_BY], int(ev["eventTime"][:4]))
        for m in ev["inputEPCList"]:
            tonnes[key][0] += mass_of[m][0] / 1000
            tonnes[key][1] += mass_of[m][1] / 1000
    listed = {(a["enterprise"], a["year"]) for a in aged.truth["registryAnomalies"]}
    assert listed
    for (firm, year), (by_pack, by_module) in tonnes.items():
        (entry,) = [w for w in ents[firm]["whiteList"] if w["category"] == "recycling"]
        capacity = entry["capacityTpa"]
        exceeded = (firm, year) in listed
        assert (by_pack > capacity) == exceeded, (firm, year, by_pack, capacity)
        assert (by_module > capacity) == exceeded, (firm, year, by_module, capacity)
    assert listed <= set(tonnes)


def test_the_rules_find_exactly_what_was_planted(aged: Run, tmp_path: Path) -> None:
    """End to end: register registry.json, import the documents under the governance rules:
    each planted event trips its own rule and no other, and no clean event trips any."""
    from ionledger.governance.credentials import OPERATOR
    from ionledger.services.importer import Importer
    from ionledger.services.registry import change_registry, changes_from_generator
    from ionledger.settings import Settings
    from ionledger.store.open import init_store
    from ionledger.store.port import AlertFilter

    url = f"sqlite:///{tmp_path / 'rules.db'}"
    store = init_store(url)
    try:
        change_registry(store, changes_from_generator(aged.registry), actor=OPERATOR)
        importer = Importer(store, Settings(database_url=url))
        rejected: dict[str, str] = {}
        for path, doc in zip(aged.result.documents, aged.docs, strict=True):
            events = doc["epcisBody"]["eventList"]
            with path.open("rb") as fh:
                report = importer.import_stream(fh, source=str(path), proceed=True)
            assert report.document_error is None
            for error in report.errors:
                rejected[events[error.index]["eventID"]] = getattr(error, "rule", str(error))
        event_of = {  # (registry records have no eventID)
            stored.seq: msgspec.json.decode(stored.doc).get("eventID")
            for batch in store.iter_events()
            for stored in batch
        }
        alerts: dict[str, list[str]] = defaultdict(list)
        over = set()
        for alert in store.alerts(AlertFilter(), 1_000_000):
            if alert.rule == "recycling.over-capacity":
                over.add(alert.subject)
            else:
                alerts[event_of[alert.seq]].append(alert.rule)
    finally:
        store.close()
    planted = aged.planted()
    found = {eid: rejected.get(eid) or "+".join(sorted(alerts.get(eid, []))) for eid in planted}
    assert {eid: ANOMALY_RULES[kind] for eid, (kind, _) in planted.items()} == found
    assert not set(alerts) - set(planted)
    assert not set(rejected) - set(planted)
    assert {eid for eid in rejected} == {e for e, (k, _) in planted.items() if k in REJECTING}
    assert over == {f"{a['enterprise']}/{a['year']}" for a in aged.truth["registryAnomalies"]}


def test_formal_share_of_retirements_follows_the_parameter(large: Run) -> None:
    channels = large.truth["summary"]["channels"]
    n = channels["formal"] + channels["informal"]
    assert n == large.truth["summary"]["retired"] > 500
    sigma = math.sqrt(p.FORMAL_SHARE * (1 - p.FORMAL_SHARE) / n)
    assert abs(channels["formal"] / n - p.FORMAL_SHARE) < 4 * sigma


def test_formal_share_is_a_parameter(tmp_path: Path) -> None:
    run = _run(tmp_path, batteries=600, seed=6, end_date=AGED_END, formal_share=0.8)
    channels = run.truth["summary"]["channels"]
    assert channels["formal"] / (channels["formal"] + channels["informal"]) > 0.65


def test_lfp_share_of_recent_cohorts(large: Run) -> None:
    recent = [
        t for t in large.truth["packs"].values() if t["produced"] >= "2023" and "replaces" not in t
    ]
    lfp = sum(t["chemistry"] == "LFP" for t in recent) / len(recent)
    assert len(recent) > 1_000
    assert abs(lfp - 0.75) < 0.05
    old = [t for t in large.truth["packs"].values() if t["produced"] < "2019"]
    assert sum(t["chemistry"] == "LFP" for t in old) / len(old) < 0.6


def test_pack_attributes_are_in_range(large: Run) -> None:
    for t in large.truth["packs"].values():
        assert p.PACK_KWH[0] <= t["kWh"] <= p.PACK_KWH[-1]
        per_kwh = t["massKg"] / t["kWh"]
        assert min(p.PACK_KG_PER_KWH) * 0.99 <= per_kwh <= max(p.PACK_KG_PER_KWH) * 1.26
        assert is_province(t["province"])


def test_progress_reports_packs_done(tmp_path: Path) -> None:
    seen: list[int] = []
    generate(batteries=1_200, seed=1, out=tmp_path, progress=seen.append)
    assert seen == sorted(seen)
    assert seen[-1] == 1_200


def test_empty_fleet_writes_valid_empty_files(tmp_path: Path) -> None:
    run = _run(tmp_path, batteries=0, seed=1)
    assert run.result.events == 0
    assert run.truth["packs"] == {}
    assert [doc["epcisBody"]["eventList"] for doc in run.docs] == [[]]


def test_stale_documents_are_removed(tmp_path: Path) -> None:
    generate(batteries=200, seed=1, out=tmp_path, events_per_document=500)
    result = generate(batteries=10, seed=1, out=tmp_path, events_per_document=500)
    assert sorted(tmp_path.glob("events-*.jsonld")) == sorted(result.documents)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"batteries": -1},
        {"seed": -1},
        {"start_year": 2010},
        {"formal_share": 1.5},
        {"anomaly_rate": -0.1},
        {"events_per_document": 0},
        {"workers": -1},
        {"start_year": 2026, "end_date": datetime.date(2026, 3, 1)},
    ],
)
def test_bad_arguments_are_rejected(tmp_path: Path, kwargs: dict[str, Any]) -> None:
    args: dict[str, Any] = {"batteries": 10, "seed": 1, "out": tmp_path, **kwargs}
    with pytest.raises(ValidationError):
        generate(**args)


def test_memory_stays_bounded_by_a_chunk(tmp_path: Path) -> None:
    peaks, written = [], 0
    for n in (1_000, 4_000):
        tracemalloc.start()
        try:
            result = generate(batteries=n, seed=8, out=tmp_path / str(n))
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
        written = sum(f.stat().st_size for f in result.files)
    small_peak, peak = peaks
    assert written > 70e6
    assert peak < written / 5
    assert peak < small_peak * 1.2  # four times the packs, not more memory
