"""The capture pipeline on documents: rollback / proceed, idempotence, projections, rebuild."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from factory import code, commission, document, event, lifecycle, urn
from ionledger.services.importer import Importer, ImportReport
from ionledger.services.rebuild import rebuild
from ionledger.services.trace import trace
from ionledger.settings import Settings
from ionledger.store.port import EventStore


def run(
    store: EventStore, events: list[dict[str, Any]], *, proceed: bool = False, batch: int = 5000
) -> ImportReport:
    importer = Importer(store, Settings(database_url=store.url, batch_size=batch))
    raw = json.dumps(document(events)).encode()
    return importer.import_stream(io.BytesIO(raw), proceed=proceed)


def test_lifecycle_projects_state_custody_genealogy_and_tests(store: EventStore) -> None:
    pack, modules = code("P"), [code("M"), code("M")]
    report = run(store, lifecycle(pack, modules))
    assert report.ok
    assert report.stored == 7
    assert report.committed
    row = store.battery(pack)
    assert row is not None
    assert (row.kind, row.chemistry, row.rated_energy_kwh, row.mass_kg) == (
        "pack",
        "LFP",
        60.0,
        380.0,
    )
    assert (row.state, row.custodian, row.province) == ("tested", "dismantler-1", "CN-GD")
    assert row.event_count == 6
    assert row.manufacturer == "03H"
    module = store.battery(modules[0])
    assert module is not None
    assert module.state == "assembled"
    result = trace(store, urn(pack))
    assert [e.stage for e in result.timeline] == [
        "commissioning",
        "aggregation",
        "installation",
        "sale",
        "retirement",
        "testing",
    ]
    relations = {(e.child, e.relation, e.removed_seq is None) for e in result.genealogy}
    assert (modules[0], "component", True) in relations
    assert ("urn:ionledger:vin:LSVAB2AD7N0000001", "installed", False) not in relations
    assert (pack, "installed", False) in relations  # installed, then removed
    assert [(t.soh_pct, t.resistance_ohm) for t in result.tests] == [(76.5, 0.0021)]


def test_reimport_changes_nothing(store: EventStore) -> None:
    events = lifecycle(code("P"), [code("M")])
    assert run(store, events).stored == 7
    before = store.projection_snapshot()
    again = run(store, events)
    assert (again.ok, again.stored, again.duplicates) == (True, 0, 7)
    assert store.count_events() == 7
    assert store.projection_snapshot() == before


def test_events_without_event_id_deduplicate_by_content(store: EventStore) -> None:
    ev = commission(code("P"))
    del ev["eventID"]
    assert run(store, [ev]).stored == 1
    assert run(store, [ev]).duplicates == 1
    stored = next(iter(store.iter_events()))[0]
    assert stored.identity.startswith("ni:///sha-256;")


def test_rollback_rejects_the_whole_document(store: EventStore) -> None:
    events = lifecycle(code("P"), [code("M")])
    events[3]["eventTime"] = "not a time"
    events[4]["epcList"] = ["urn:ionledger:gbt34014:TOO-SHORT"]
    report = run(store, events, batch=2)
    assert not report.ok
    assert not report.committed
    assert report.stored == 0
    assert [(e.index, e.field) for e in report.errors] == [(3, "eventTime"), (4, "epcList[0]")]
    assert store.count_events() == 0
    assert all(rows == [] for rows in store.projection_snapshot().values())


def test_proceed_keeps_the_good_events(store: EventStore) -> None:
    events = lifecycle(code("P"), [code("M")])
    events[2]["action"] = "SOMETIMES"
    report = run(store, events, proceed=True, batch=2)
    assert report.stored == 6
    assert report.error_count == 1
    assert not report.ok
    assert report.errors[0].index == 2
    assert report.errors[0].field == "action"
    assert store.count_events() == 6


@pytest.mark.parametrize("batch", [1, 3, 5000])
def test_duplicate_event_ids_within_a_document_are_errors(store: EventStore, batch: int) -> None:
    first = commission(code("P"))
    twin = commission(code("P"))
    twin["eventID"] = first["eventID"]
    report = run(store, [first, commission(code("P")), twin], batch=batch)
    assert [(e.index, e.field) for e in report.errors] == [(2, "eventID")]
    assert "duplicate" in report.errors[0].reason
    assert store.count_events() == 0


def test_rebuild_reproduces_projections_exactly(store: EventStore) -> None:
    events: list[dict[str, Any]] = []
    for i in range(4):
        events += lifecycle(code("P"), [code("M"), code("M")], start_day=1 + i)
    run(store, events, batch=5)
    before = store.projection_snapshot()
    assert before["batteries"]
    assert rebuild(store, batch=7) == len(events)
    assert store.projection_snapshot() == before


def test_malformed_document_is_rejected_with_position(store: EventStore) -> None:
    importer = Importer(store, Settings(database_url=store.url))
    raw = json.dumps(document([commission(code("P"))])).encode()[:-40]
    report = importer.import_stream(io.BytesIO(raw))
    assert report.document_error
    assert not report.committed
    assert store.count_events() == 0


def test_unknown_province_is_an_error(store: EventStore) -> None:
    ev = event(epcList=[urn(code("P"))], bizStep="repairing", **{"ion:province": "CN-XX"})
    report = run(store, [ev])
    assert [(e.index, e.field) for e in report.errors] == [(0, "ion:province")]


def test_gs1_keyed_batteries_are_one_battery_in_any_form(store: EventStore) -> None:
    as_urn = "urn:epc:id:sgtin:0614141.007346.2017"
    as_link = "https://example.com/01/00614141073467/21/2017"  # same SGTIN, another resolver
    report = run(
        store,
        [
            event(epcList=[as_urn], action="ADD", bizStep="commissioning", disposition="active"),
            event(epcList=[as_link], bizStep="repairing", eventTime="2024-04-01T10:00:00+08:00"),
        ],
    )
    assert report.ok
    canonical = "https://id.gs1.org/01/00614141073467/21/2017"
    row = store.battery(canonical)
    assert row is not None
    assert (row.kind, row.event_count) == ("item", 2)
    assert len(trace(store, as_urn).timeline) == 2
