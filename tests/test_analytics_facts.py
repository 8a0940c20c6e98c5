"""The fact tables (docs/analytics.md) derived from a generated fleet, checked against what the
generator planted (truth.json); incremental refreshes, a rebuild and PostgreSQL give the same."""

from __future__ import annotations

import datetime
import io
import json
import shutil
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

import factory
import ionledger.analytics.facts as facts_module
from generator_kit import Run
from ionledger.analytics.facts import refresh
from ionledger.governance.credentials import OPERATOR
from ionledger.services.importer import Importer
from ionledger.services.rebuild import rebuild
from ionledger.services.registry import change_registry, changes_from_generator
from ionledger.settings import Settings
from ionledger.store.open import init_store
from ionledger.store.port import AlertFilter, EventStore
from ionledger.store.schema_facts import FACT_PROJECTIONS

EPOCH = datetime.date(1970, 1, 1)
Snapshot = dict[str, list[tuple[Any, ...]]]


def day(text: str) -> int:
    return (datetime.date.fromisoformat(text) - EPOCH).days


def load(store: EventStore, run: Run, documents: Sequence[Path] | None = None) -> None:
    if documents is None:
        change_registry(store, changes_from_generator(run.registry), actor=OPERATOR)
    importer = Importer(store, Settings(database_url=store.url))
    for path in run.result.documents if documents is None else documents:
        with path.open("rb") as fh:
            report = importer.import_stream(fh, proceed=True)
        assert report.document_error is None


def snapshot(store: EventStore) -> Snapshot:
    engine = store.engine  # type: ignore[attr-defined]
    with engine.connect() as conn:
        return {
            t.name: [tuple(r) for r in conn.execute(select(t).order_by(*t.primary_key.columns))]
            for t in FACT_PROJECTIONS
        }


@pytest.fixture(scope="module")
def fleet_store(aged: Run, tmp_path_factory: pytest.TempPathFactory) -> Iterator[EventStore]:
    """The aged fleet imported and its facts refreshed once."""
    path = tmp_path_factory.mktemp("facts") / "store.db"
    store = init_store(f"sqlite:///{path}")
    load(store, aged)
    refresh(store)
    yield store
    store.close()


@pytest.fixture(scope="module")
def facts(fleet_store: EventStore) -> Snapshot:
    return snapshot(fleet_store)


def rows_of(facts: Snapshot, table: str) -> list[dict[str, Any]]:
    cols = [c.name for t in FACT_PROJECTIONS if t.name == table for c in t.columns]
    return [dict(zip(cols, r, strict=True)) for r in facts[table]]


def batteries(facts: Snapshot) -> dict[str, dict[str, Any]]:
    return {r["battery_id"]: r for r in rows_of(facts, "fact_batteries")}


def test_every_pack_matches_the_truth(aged: Run, facts: Snapshot) -> None:
    rows = batteries(facts)
    packs = aged.truth["packs"]
    assert packs, "the fleet has packs"
    fates: Counter[str] = Counter()
    for code, t in packs.items():
        r = rows[code]
        assert (r["kind"], r["chemistry"], r["category"]) == ("pack", t["chemistry"], "EV")
        assert (r["energy_kwh"], r["mass_kg"]) == (t["kWh"], t["massKg"]), code
        assert (r["producer"], r["battery_maker"]) == (t["producer"], t["batteryMaker"]), code
        assert r["province"] == t["province"], code
        assert r["produced_day"] == day(t["produced"]), code
        assert r["placed_day"] is not None
        assert r["placed_via"] == ("installation" if t.get("replaces") else "sale")
        kind = t.get("informal")
        fates[kind or t["fate"]] += 1
        if kind == "silent" or t["retired"] is None:
            assert r["retired_day"] is None, code
        else:
            assert r["retired_day"] == day(t["retired"]), code
            assert r["retired_year"] == int(t["retired"][:4])
        if kind in ("removed", "diverted"):
            assert (r["collected_day"], r["whitelisted_day"]) == (None, None), code
        if t["fate"] in ("formal_second_life", "formal_recycled"):
            assert r["collected_day"] is not None
            assert r["collected_day"] >= r["retired_day"]
            assert r["whitelisted_by"] == t["handler"], code
            assert r["test_day"] is not None
            assert r["soh_pct"] is not None
        if t["fate"] == "formal_second_life":
            assert (r["repurposed_by"], r["recycled_day"]) == (t["handler"], None)
        if t["fate"] == "formal_recycled":
            assert (r["recycled_by"], r["repurposed_day"]) == (t["handler"], None)
    # The fleet has every fate this checks (else the test would prove little).
    for fate in ("silent", "removed", "formal_second_life", "formal_recycled", "in_service"):
        assert fates[fate] > 0, fates


def test_second_life_products_name_their_original(aged: Run, facts: Snapshot) -> None:
    rows = batteries(facts)
    products = {t["secondLifeCode"]: code for code, t in aged.truth["packs"].items()
                if t.get("secondLifeCode")}  # fmt: skip
    assert products
    for new, original in products.items():
        r = rows[new]
        assert (r["original_id"], r["category"]) == (original, "stationary")
        assert r["produced_day"] == rows[original]["repurposed_day"]
    assert sum(r["original_id"] is not None for r in rows.values()) == len(products)


def test_recycling_lineage_and_recovery(
    aged: Run, facts: Snapshot, fleet_store: EventStore
) -> None:
    packs = aged.truth["packs"]
    inputs = rows_of(facts, "fact_recycling_inputs")
    assert inputs
    for r in inputs:
        assert r["producer"] == packs[r["pack_id"]]["producer"], r
        assert r["mass_kg"] > 0
        assert r["energy_kwh"] > 0
    recovered: dict[int, float] = defaultdict(float)
    for r in rows_of(facts, "fact_recovery"):
        recovered[r["seq"]] += r["recovered_kg"]
        assert r["contained_kg"] is not None
        assert r["recovered_kg"] <= r["contained_kg"] + 0.01
    # What each stored recycling event declares, read from its own document.
    declared: dict[int, float] = {}
    for batch in fleet_store.iter_events():
        for e in batch:
            if e.biz_step == "ion:recycling":
                doc = json.loads(e.doc)
                declared[e.seq] = sum(q["quantity"] for q in doc["outputQuantityList"])
    assert declared.keys() == recovered.keys() == {r["seq"] for r in inputs}
    for seq, kg in declared.items():
        assert recovered[seq] == pytest.approx(kg)
    # A recycled pack's own row says who recycled it.
    rows = batteries(facts)
    assert all(rows[r["pack_id"]]["recycled_day"] is not None for r in inputs)


def test_alerts_transfers_and_reporting(facts: Snapshot, fleet_store: EventStore) -> None:
    alerts = fleet_store.alerts(AlertFilter(), 1_000_000)
    rows = batteries(facts)
    on_batteries = sum(1 for a in alerts if a.subject in rows)
    assert on_batteries > 0
    assert sum(r["negative_events"] for r in rows.values()) == on_batteries
    transfers = fleet_store.projection_snapshot()["transfers"]
    facts_t = rows_of(facts, "fact_transfers")
    assert [(r["battery_id"], r["ship_seq"]) for r in facts_t] == [(t[0], t[1]) for t in transfers]
    assert [r["receive_day"] is None for r in facts_t] == [t[6] is None for t in transfers]
    assert all(r["from_province"] for r in facts_t)
    reporting = rows_of(facts, "fact_reporting")
    epcis = sum(1 for b in fleet_store.iter_events() for e in b if e.event_type != "RegistryChange")
    assert sum(r["reports"] for r in reporting) == epcis
    late = {a.seq for a in alerts if a.rule == "deadline.late-report"}
    assert late
    assert sum(r["late"] for r in reporting) == len(late)


def test_incremental_refresh_equals_one_refresh_and_survives_rebuild(
    aged: Run, facts: Snapshot, tmp_path: Path
) -> None:
    store = init_store(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        docs = aged.result.documents
        change_registry(store, changes_from_generator(aged.registry), actor=OPERATOR)
        half = len(docs) // 2
        load(store, aged, docs[:half])
        first = refresh(store, chunk=997)
        assert first.events > 0
        assert first.first_seq == 0
        load(store, aged, docs[half:])
        second = refresh(store, chunk=1_231)
        assert second.first_seq == first.next_seq
        assert second.next_seq == store.next_event_seq()
        assert refresh(store).events == 0  # up to date: nothing read
        assert snapshot(store) == facts
        rebuild(store)
        emptied = snapshot(store)
        assert all(rows == [] for rows in emptied.values()), "rebuild empties facts and watermark"
        refresh(store)
        assert snapshot(store) == facts
    finally:
        store.close()


def test_bad_chunk_is_refused(fleet_store: EventStore) -> None:
    with pytest.raises(ValueError, match="chunk"):
        refresh(fleet_store, chunk=0)


@pytest.mark.pg
def test_postgresql_gives_the_same_facts(aged: Run, facts: Snapshot, pg_url: str) -> None:
    store = init_store(pg_url)
    try:
        load(store, aged)
        refresh(store, chunk=4_000)
        assert snapshot(store) == facts
    finally:
        store.close()


def test_copy_of_a_refreshed_store_stays_refreshed(fleet_store: EventStore, tmp_path: Path) -> None:
    """The watermark travels with the database: a copy needs no work."""
    source = Path(fleet_store.url.removeprefix("sqlite:///"))
    with fleet_store.engine.connect() as conn:  # type: ignore[attr-defined]
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copy(source, tmp_path / "copy.db")
    copy = init_store(f"sqlite:///{tmp_path / 'copy.db'}")
    try:
        assert refresh(copy).events == 0
    finally:
        copy.close()


def test_a_large_refresh_renews_the_planner_statistics(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reports group on the fact columns; after a big catch-up the planner needs statistics of
    the tables as they now are (SQLite keeps them in sqlite_stat1 once ANALYZE ran)."""
    store = init_store(f"sqlite:///{tmp_path / 'stats.db'}")
    raw = json.dumps(
        factory.document(factory.lifecycle(factory.code("P"), [factory.code("M")]))
    ).encode()
    importer = Importer(store, Settings(database_url=store.url))
    assert importer.import_stream(io.BytesIO(raw)).ok
    engine = store.engine  # type: ignore[attr-defined]

    def analysed() -> set[str]:
        with engine.connect() as conn:
            listed = conn.exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE name = 'sqlite_stat1'"
            ).fetchall()
            if not listed:
                return set()
            return {r[0] for r in conn.exec_driver_sql("SELECT tbl FROM sqlite_stat1")}

    monkeypatch.setattr(facts_module, "RESTATISTIC_ROWS", 10**9)
    refresh(store)
    assert "fact_batteries" not in analysed()  # a small refresh leaves the statistics
    store.close()
    store = init_store(f"sqlite:///{tmp_path / 'stats2.db'}")
    importer = Importer(store, Settings(database_url=store.url))
    assert importer.import_stream(io.BytesIO(raw)).ok
    monkeypatch.setattr(facts_module, "RESTATISTIC_ROWS", 1)
    assert refresh(store).batteries >= 1
    engine = store.engine  # type: ignore[attr-defined]
    assert "fact_batteries" in analysed()
    store.close()
