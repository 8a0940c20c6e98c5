"""The fleet generator: reproducible, valid EPCIS, consistent with its truth, bounded in memory."""

from __future__ import annotations

import collections
import datetime
import math
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from generator_kit import (
    AGED_END,
    Run,
    _by_pack,
    _epcs,
    _gbt,
    _packs_of,
    _run,
    _stage,
    _time,
)
from ionledger.domain import vocabulary as voc
from ionledger.domain.gbt34014 import parse_code
from ionledger.domain.provinces import is_province
from ionledger.domain.vocabulary import FIELD_DECLARED_AT, GBT_URN_PREFIX, Stage
from ionledger.errors import ValidationError
from ionledger.sim import generate
from ionledger.sim import params as p
from ionledger.sim.epcis_writer import EPCIS_CONTEXT
from ionledger.sim.identifiers import vin_check_digit
from ionledger.sim.lifecycle import FATES


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
