"""The abstract storage suite: every test here runs against SQLite and against PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from ionledger.errors import NotFound, StoreError
from ionledger.store.open import HEAD, init_store, migrate, open_store, revision
from ionledger.store.port import BatteryDelta, EdgeOp, EventStore, PreparedEvent, ProjectionDelta
from ionledger.store.schema import metadata


def _event(identity: str, time: str = "2024-01-01T00:00:00.000000Z") -> PreparedEvent:
    return PreparedEvent(
        identity=identity,
        hash_id=None,
        event_type="ObjectEvent",
        event_time=time,
        reporter="maker",
        biz_step="commissioning",
        doc=b"{}",
    )


def test_migrations_create_exactly_the_schema(store: EventStore) -> None:
    assert revision(store) == HEAD
    engine = store.engine  # type: ignore[attr-defined]
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diffs == []


def test_migrate_twice_is_harmless(store: EventStore) -> None:
    migrate(store)
    assert revision(store) == HEAD
    again = init_store(store.url)
    assert again.count_events() == 0
    again.close()


def test_seq_is_gapless_and_rollback_discards(store: EventStore) -> None:
    with store.writer() as w:
        assert w.next_seq == 0
        assert w.append([_event("a"), _event("b")], "2024-01-02T00:00:00.000000Z") == 0
        w.apply(ProjectionDelta(links=[("B1", 0), ("B1", 1)]))
        w.commit()
        assert w.append([_event("c")], "t") == 2
        w.apply(ProjectionDelta(links=[("B2", 2)]))
        w.rollback()
        assert w.next_seq == 2
        assert w.append([_event("d")], "t") == 2
        w.commit()
    assert store.count_events() == 3
    assert [e.identity for batch in store.iter_events() for e in batch] == ["a", "b", "d"]
    assert [e.identity for e in store.events_for(["B1"])] == ["a", "b"]
    assert store.events_for(["B2"]) == []


def test_uncommitted_writes_vanish_on_close(store: EventStore) -> None:
    with store.writer() as w:
        w.append([_event("a")], "t")
    assert store.count_events() == 0


def test_existing_reports_stored_identities(store: EventStore) -> None:
    with store.writer() as w:
        w.append([_event("a"), _event("b")], "t")
        assert w.existing(["a", "x"]) == {"a": 0}  # visible inside the writer's transaction
        w.commit()
        many = [f"id{i}" for i in range(1200)]  # more than one IN (...) chunk
        w.append([_event(i) for i in many], "t")
        assert len(w.existing(many)) == 1200
        w.commit()


def _delta(seq: int, state: str, time: str, custodian: str | None = None) -> ProjectionDelta:
    d = ProjectionDelta()
    d.batteries["B"] = BatteryDelta(
        id="B",
        first_seen=time,
        event_count=1,
        kind="pack",
        chemistry="LFP" if seq else None,
        state=state,
        state_key=(time, seq),
        custodian=custodian,
        custodian_key=(time, seq) if custodian else None,
    )
    return d


def test_battery_merge_keeps_latest_by_time_then_seq(store: EventStore) -> None:
    with store.writer() as w:
        w.apply(_delta(0, "produced", "2024-01-01", custodian="maker"))
        w.apply(_delta(1, "installed", "2024-03-01"))
        w.apply(_delta(2, "retired", "2024-02-01", custodian="dismantler"))  # older event, later
        w.commit()
    row = store.battery("B")
    assert row is not None
    assert (row.state, row.custodian, row.chemistry) == ("installed", "dismantler", "LFP")
    assert (row.first_seen, row.event_count) == ("2024-01-01", 3)


def test_edges_open_and_close_in_order(store: EventStore) -> None:
    d = ProjectionDelta(
        edges=[
            EdgeOp("add", "C1", "M1", "component", 0),
            EdgeOp("add", "C2", "M1", "component", 0),
            EdgeOp("remove", "C1", "M1", "component", 1),
            EdgeOp("add", "C1", "M1", "component", 2),
            EdgeOp("remove", None, "M1", "component", 3),
        ]
    )
    with store.writer() as w:
        w.apply(d)
        w.commit()
    edges = {(e.child, e.added_seq): e.removed_seq for e in store.edges_of(["M1"])}
    assert edges == {("C1", 0): 1, ("C2", 0): 3, ("C1", 2): 3}


def test_reset_projections_empties_them_but_not_events(store: EventStore) -> None:
    with store.writer() as w:
        w.append([_event("a")], "t")
        w.apply(_delta(0, "produced", "2024"))
        w.commit()
        w.reset_projections()
        w.commit()
    assert store.count_events() == 1
    assert all(rows == [] for rows in store.projection_snapshot().values())


def test_opening_an_uninitialised_store_says_how_to_create_it(tmp_path: Path, pg_url: str) -> None:
    missing = tmp_path / "nothing.db"
    with pytest.raises(NotFound, match="ionledger init"):
        open_store(f"sqlite:///{missing}")
    assert not missing.exists()  # no empty file left behind
    with pytest.raises(NotFound, match="ionledger init"):
        open_store(pg_url)  # a reachable database without the schema


def test_driver_errors_become_store_errors(store: EventStore) -> None:
    with store.writer() as w, pytest.raises(StoreError, match="storing events failed"):
        w.append([_event("a"), _event("a")], "t")
