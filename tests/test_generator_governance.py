"""The generator's registry and its planted anomalies, as the governance rules expect them."""

from __future__ import annotations

import collections
import datetime
import math
from collections import defaultdict
from pathlib import Path
from typing import Any

import msgspec
import pytest

from generator_kit import (
    AGED_END,
    REJECTING,
    SITE_KINDS,
    Run,
    _by_pack,
    _epcs,
    _gbt,
    _packs_of,
    _recovered,
    _run,
    _shipped_to,
    _soh,
    _stage,
    _time,
    _white_listed,
)
from ionledger.domain import uscc
from ionledger.domain import vocabulary as voc
from ionledger.domain.provinces import is_province
from ionledger.domain.vocabulary import FIELD_DECLARED_AT, GBT_URN_PREFIX, Stage
from ionledger.governance.calendar import china_calendar
from ionledger.governance.composition import content_kg
from ionledger.governance.deadlines import deadline, deadline_days
from ionledger.governance.thresholds import MASS_TOLERANCE_KG, RECOVERY_THRESHOLDS
from ionledger.services.projector import CUSTODY_STAGES
from ionledger.sim import params as p
from ionledger.sim.anomalies import ANOMALY_KINDS, ANOMALY_RULES


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
