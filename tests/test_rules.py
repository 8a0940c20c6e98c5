"""Each capture rule on a small registered world: rejections store nothing and name the rule,
alerts are stored with the event, and a compliant life raises nothing."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from factory import code, document, vin
from governance_kit import (
    at,
    capture,
    collect,
    commission,
    compliant_life,
    inspect,
    install,
    receive,
    recycle,
    register,
    rules_of,
    ship,
)
from ionledger.governance.catalogue import RULES, Outcome
from ionledger.services.importer import Importer
from ionledger.settings import Settings
from ionledger.store.port import AlertFilter, EventStore


@pytest.fixture
def world(store: EventStore) -> EventStore:
    register(store)
    return store


def _alerts(store: EventStore) -> list[tuple[str, str]]:
    return [(a.rule, a.subject) for a in store.alerts(AlertFilter(), 1000)]


def _rejects(store: EventStore, events: list, rule: str, index: int) -> None:
    before = (store.count_events(), store.projection_snapshot())
    report = capture(store, events)
    assert not report.ok
    assert not report.committed
    assert rules_of(report) == [(index, rule)], report.errors
    assert (store.count_events(), store.projection_snapshot()) == before  # nothing stored


def test_a_compliant_life_raises_nothing(world: EventStore) -> None:
    pack = code(maker="03H")
    report = capture(world, compliant_life(pack))
    assert report.ok, report.errors
    assert report.stored == 10
    assert _alerts(world) == []
    row = world.battery(pack)
    assert row is not None
    assert row.custodian == "RC"


def test_unregistered_reporter_is_rejected(world: EventStore) -> None:
    events = compliant_life(code(maker="03H"))[:1]
    events[0]["ion:reportedBy"] = "NOBODY"
    _rejects(world, events, "access.unregistered-reporter", 0)


def test_coding_another_makers_battery_is_not_permitted(world: EventStore) -> None:
    _rejects(world, [commission("BM2", [code(maker="03H")])], "access.not-permitted", 0)


def test_second_commissioning_is_a_duplicate_alert(world: EventStore) -> None:
    pack = code(maker="03H")
    report = capture(world, [commission("BM", [pack], 1), commission("BM", [pack], 5)])
    assert report.ok
    assert report.stored == 2
    assert _alerts(world) == [("state.duplicate-commissioning", pack)]


def test_receiving_without_shipment_is_rejected(world: EventStore) -> None:
    pack = code(maker="03H")
    _rejects(world, [commission("BM", [pack]), receive("VM", pack, 3)],
             "custody.receive-without-shipment", 1)  # fmt: skip


def test_receiving_a_shipment_meant_for_another_is_rejected(world: EventStore) -> None:
    pack = code(maker="03H")
    events = [commission("BM", [pack]), ship("BM", pack, "VM", 2), receive("DS", pack, 3)]
    _rejects(world, events, "custody.receive-without-shipment", 2)


def test_shipping_by_a_non_custodian_is_rejected(world: EventStore) -> None:
    pack = code(maker="03H")
    events = [commission("BM", [pack]), ship("DL", pack, "RC", 2)]
    _rejects(world, events, "custody.ship-by-non-custodian", 1)


def test_install_after_recycling_is_rejected(world: EventStore) -> None:
    pack = code(maker="03H")
    life = compliant_life(pack)
    kg = {"Ni": 30.0, "Co": 10.0, "Mn": 9.5, "Li": 5.7}
    events = [*life, recycle("RC", [pack], kg, 11), install("RC", pack, vin(7), 12)]
    _rejects(world, events, "state.install-after-recycling", len(life) + 1)


def test_one_vehicle_at_a_time(world: EventStore) -> None:
    pack = code(maker="03H")
    life = compliant_life(pack)[:4]  # installed in vin(42)
    _rejects(world, [*life, install("VM", pack, vin(43), 5)], "state.second-vehicle", 4)


def test_one_pack_at_a_time_per_module(world: EventStore) -> None:
    from governance_kit import by

    module, p1, p2 = code("M", "03H"), code("P", "03H"), code("P", "03H")

    def assemble(pack: str, day: int) -> dict:
        from factory import urn

        return by(
            "BM",
            type="AggregationEvent",
            parentID=urn(pack),
            childEPCs=[urn(module)],
            action="ADD",
            bizStep="assembling",
            disposition="active",
            eventTime=at(day),
        )

    events = [commission("BM", [module, p1, p2]), assemble(p1, 2), assemble(p2, 3)]
    _rejects(world, events, "state.second-pack", 2)


def test_recycling_needs_the_white_list(world: EventStore) -> None:
    pack = code(maker="03H")
    life = compliant_life(pack)[:7]  # collected by DL
    events = [*life, ship("DL", pack, "XR", 8), receive("XR", pack, 9),
              recycle("XR", [pack], {"Ni": 30.0}, 10)]  # fmt: skip
    _rejects(world, events, "whitelist.recycling", 9)


def test_repurposing_needs_the_white_list(world: EventStore) -> None:
    from factory import urn
    from governance_kit import by

    pack, second = code(maker="03H"), code(maker="9ZZ")
    life = compliant_life(pack)[:9]  # received by RC
    repurpose = by(
        "RC",
        type="TransformationEvent",
        inputEPCList=[urn(pack)],
        outputEPCList=[urn(second)],
        bizStep="ion:repurposing",
        eventTime=at(12),
    )
    repurpose.pop("action", None)
    _rejects(world, [*life, repurpose], "whitelist.repurposing", 9)


def test_mass_balance_is_enforced(world: EventStore) -> None:
    pack = code(maker="03H")
    # NMC622, 60 kWh: 0.5194 kg Ni per kWh (EverBatt 2023) = 31.164 kg of nickel at most.
    events = [*compliant_life(pack), recycle("RC", [pack], {"Ni": 31.2}, 11)]
    _rejects(world, events, "recycling.mass-balance", 10)


def test_low_recovery_is_flagged(world: EventStore) -> None:
    pack = code(maker="03H")
    events = [*compliant_life(pack), recycle("RC", [pack], {"Ni": 31.0, "Co": 5.0}, 11)]
    report = capture(world, events)
    assert report.ok, report.errors
    [(rule, subject)] = _alerts(world)
    assert (rule, subject) == ("recycling.low-recovery", pack)
    [alert] = world.alerts(AlertFilter(rules=("recycling.low-recovery",)), 10)
    assert "Co" in alert.message
    assert "Li" in alert.message
    assert "Mn" in alert.message
    assert "Ni" not in alert.message  # 31.0 of 31.164 kg is 99.5 %


def test_over_capacity_is_flagged_once(store: EventStore) -> None:
    register(store, capacity_tpa=0.5)  # 500 kg a year; each pack weighs 400 kg
    packs = [code(maker="03H") for _ in range(3)]
    for i, pack in enumerate(packs):
        events = [*compliant_life(pack, vin(100 + i)), recycle("RC", [pack], {"Ni": 30.0}, 11)]
        assert capture(store, events).ok
    over = store.alerts(AlertFilter(rules=("recycling.over-capacity",)), 10)
    assert [a.subject for a in over] == ["RC/2024"]  # crossed by the second pack, once


def test_late_report_is_flagged_with_working_days(world: EventStore) -> None:
    pack = code(maker="03H")
    life = compliant_life(pack)
    # Installation on Monday 2024-03-04 (day 4); 15 working days end on 2024-03-25.
    life[3]["ion:declaredAt"] = "2024-03-25T18:00:00+08:00"
    assert capture(world, life).ok
    assert _alerts(world) == []
    other = code(maker="03H")
    late = compliant_life(other, vin(9))
    late[3]["ion:declaredAt"] = "2024-03-26T09:00:00+08:00"
    assert capture(world, late).ok
    assert _alerts(world) == [("deadline.late-report", other)]


def test_implausible_soh_is_flagged(world: EventStore) -> None:
    pack = code(maker="03H")
    life = compliant_life(pack)
    life[-1] = inspect("RC", pack, 99.0, 10)
    assert capture(world, life).ok
    assert _alerts(world) == [("test.soh-implausible", pack)]


def test_diversion_to_an_unregistered_party_is_flagged(world: EventStore) -> None:
    pack = code(maker="03H")
    life = compliant_life(pack)[:6]  # removed by DS: retired, held by DS
    workshop = "urn:epc:id:pgln:6999999.00000"
    assert capture(world, [*life, ship("DS", pack, workshop, 7)]).ok
    assert _alerts(world) == [("custody.diversion", pack)]


def test_collection_needs_a_collector(world: EventStore) -> None:
    pack = code(maker="03H")
    life = compliant_life(pack)[:6]
    _rejects(world, [*life, collect("VM", pack, 7)], "access.not-permitted", 6)


def test_proceed_keeps_the_good_events(world: EventStore) -> None:
    pack, other = code(maker="03H"), code(maker="03H")
    events = [commission("BM", [pack]), receive("VM", pack, 2), commission("BM", [other])]
    report = capture(world, events, proceed=True)
    assert report.stored == 2
    assert rules_of(report) == [(1, "custody.receive-without-shipment")]


def test_removal_by_a_dismantler_of_a_car_it_does_not_hold(world: EventStore) -> None:
    pack = code(maker="03H")
    assert capture(world, compliant_life(pack)[:6]).ok  # DS removes: a service role may
    row = world.battery(pack)
    assert row is not None
    assert row.custodian == "DS"


def test_without_a_registry_only_the_physical_rules_apply(store: EventStore) -> None:
    pack = code(maker="03H")
    # Unregistered parties, a receipt with no shipment: nothing to hold them to ...
    events = [commission("BM2", [pack]), receive("XR", pack, 2), install("XR", pack, vin(1), 3)]
    assert capture(store, events).ok
    # ... but a battery is still in one vehicle at a time.
    report = capture(store, [install("XR", pack, vin(2), 4)])
    assert rules_of(report) == [(0, "state.second-vehicle")]


def test_every_rule_is_tested_here() -> None:
    # The rules about API credentials are tested where the API is: the access matrix and
    # signed capture.
    here = Path(__file__).parent
    source = "".join(
        (here / name).read_text(encoding="utf-8")
        for name in ("test_rules.py", "test_access.py", "test_signed_capture.py")
    )
    for rule in RULES:
        assert f'"{rule.id}"' in source, f"no test names {rule.id}"
    assert {r.outcome for r in RULES} == {Outcome.REJECT, Outcome.ALERT}


def test_access_rows_of_a_rolled_back_document_are_written_when_it_comes_back(
    world: EventStore,
) -> None:
    """The importer remembers which access rows it stored; rows of a document that was rolled
    back were not stored, so sending the document again writes them."""
    pack = code(maker="03H")
    importer = Importer(world, Settings(database_url=world.url))
    # The bad event is refused by a rule, after the batch was screened (its rows noted).
    good, bad = commission("BM", [pack], 1), commission("BM2", [code(maker="03H")])
    refused = importer.import_stream(io.BytesIO(json.dumps(document([good, bad])).encode()))
    assert not refused.ok
    assert world.visible_batteries([pack], ["BM"]) == set()
    again = importer.import_stream(io.BytesIO(json.dumps(document([good])).encode()))
    assert again.ok
    assert world.visible_batteries([pack], ["BM", "province:CN-FJ"]) == {pack}
    assert world.visible_batteries([pack], ["province:CN-FJ"]) == {pack}
