"""The fact tables' reads and writes, in SQL that SQLite and PostgreSQL both run.

A refresh writes one chunk per transaction, holding the store's single-writer lock (as an import
does), so two refreshes, or a refresh and an import, never interleave within a chunk.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from ionledger.errors import StoreError
from ionledger.governance.rules import input_content
from ionledger.governance.state import BatteryState
from ionledger.store.port import EventStore, StoredEvent
from ionledger.store.schema_facts import (
    fact_batteries,
    fact_recovery,
    fact_recycling_inputs,
    fact_reporting,
    fact_transfers,
)
from ionledger.store.sql import _EVENT_FIELDS, SqlStore, _marks, translating
from ionledger.store.sql_governance import GovernanceWrites

_CHUNK = 500  # ids per IN (...) list: well under SQLite's parameter limit


def _upsert(table: Any, *, add: Sequence[str] = ()) -> str:
    """INSERT ... ON CONFLICT (primary key) DO UPDATE: columns replaced, or for ``add`` summed."""
    cols = [c.name for c in table.columns]
    keys = [c.name for c in table.primary_key.columns]
    sets = [
        f"{c} = {table.name}.{c} + excluded.{c}" if c in add else f"{c} = excluded.{c}"
        for c in cols
        if c not in keys
    ]
    return (
        f"INSERT INTO {table.name} ({', '.join(cols)}) VALUES ({_marks(cols)})"
        f" ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {', '.join(sets)}"
    )


BATTERY_UPSERT = _upsert(fact_batteries)
TRANSFER_UPSERT = _upsert(fact_transfers)
REPORTING_UPSERT = _upsert(fact_reporting, add=("reports", "late"))
RECOVERY_INSERT = _upsert(fact_recovery)
INPUT_INSERT = _upsert(fact_recycling_inputs)
WATERMARK_UPSERT = (
    "INSERT INTO fact_state (id, next_seq) VALUES (0, ?)"
    " ON CONFLICT (id) DO UPDATE SET next_seq = excluded.next_seq"
)


def sql_store(store: EventStore) -> SqlStore:
    if not isinstance(store, SqlStore):
        raise StoreError(f"{type(store).__name__} keeps no SQL fact tables")
    return store


class FactTx(GovernanceWrites):
    """One transaction on a driver connection. As a :class:`GovernanceWrites` it loads battery
    states exactly as the capture rules do (for the recycling mass balance)."""

    def __init__(self, conn: Any, store: SqlStore) -> None:
        self._conn = conn
        self._sql = store.paramstyle

    def _chunked(self, sql: str, ids: Sequence[Any], extra: Sequence[Any] = ()) -> list[Any]:
        """``sql`` with ``{marks}`` for an IN list, run over ``ids`` in chunks."""
        out: list[Any] = []
        for i in range(0, len(ids), _CHUNK):
            part = ids[i : i + _CHUNK]
            out += self._query(sql.format(marks=_marks(part)), [*part, *extra])
        return out

    # -- the watermark and the events ------------------------------------------------------------
    def watermark(self) -> int:
        rows = self._query("SELECT next_seq FROM fact_state WHERE id = 0", ())
        return int(rows[0][0]) if rows else 0

    def set_watermark(self, next_seq: int) -> None:
        self._many(WATERMARK_UPSERT, [(next_seq,)])

    def next_event_seq(self) -> int:
        return int(self._query("SELECT COALESCE(MAX(seq) + 1, 0) FROM events", ())[0][0])

    def events(self, start: int, stop: int) -> list[StoredEvent]:
        rows = self._query(
            f"SELECT {_EVENT_FIELDS} FROM events WHERE seq >= ? AND seq < ? ORDER BY seq",
            (start, stop),
        )
        return [
            StoredEvent(int(r[0]), r[1], r[2], r[3], r[4], r[5], r[6], bytes(r[7])) for r in rows
        ]

    # -- what the derivation reads (facts_derive.Reader) ---------------------------------------
    def fact_rows(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        cols = [c.name for c in fact_batteries.columns]
        rows = self._chunked(
            f"SELECT {', '.join(cols)} FROM fact_batteries WHERE battery_id IN ({{marks}})", ids
        )
        return {r[0]: dict(zip(cols, r, strict=True)) for r in rows}

    def attributes(self, ids: Sequence[str]) -> dict[str, tuple[Any, ...]]:
        rows = self._chunked(
            "SELECT id, kind, chemistry, category, rated_energy_kwh, mass_kg FROM batteries"
            " WHERE id IN ({marks})",
            ids,
        )
        return {r[0]: tuple(r[1:]) for r in rows}

    def packs_of(self, modules: Sequence[str]) -> dict[str, str]:
        # In the order they were added: the last pack a module was part of is its pack.
        rows = self._chunked(
            "SELECT child, parent FROM genealogy WHERE child IN ({marks})"
            " AND relation = 'component' ORDER BY added_seq",
            modules,
        )
        return {child: parent for child, parent in rows}

    def vehicle_installers(self, vehicles: Sequence[str]) -> dict[str, list[str]]:
        rows = self._chunked(
            "SELECT g.parent, e.reporter FROM genealogy AS g"
            " JOIN events AS e ON e.seq = g.added_seq"
            " WHERE g.parent IN ({marks}) AND g.relation = 'installed' ORDER BY g.added_seq",
            vehicles,
        )
        out: dict[str, list[str]] = {}
        for vehicle, reporter in rows:
            out.setdefault(vehicle, []).append(reporter)
        return out

    def transfers_of(self, ids: Sequence[str]) -> list[tuple[Any, ...]]:
        return [
            tuple(r)
            for r in self._chunked(
                "SELECT battery_id, ship_seq, shipper, receiver, received_seq FROM transfers"
                " WHERE battery_id IN ({marks}) ORDER BY battery_id, ship_seq",
                ids,
            )
        ]

    def fact_transfers(self, keys: Sequence[tuple[str, int]]) -> dict[tuple[str, int], list[Any]]:
        cols = ", ".join(c.name for c in fact_transfers.columns)
        wanted = set(keys)
        rows = self._chunked(
            f"SELECT {cols} FROM fact_transfers WHERE battery_id IN ({{marks}})",
            sorted({b for b, _s in keys}),
        )
        return {(r[0], int(r[1])): list(r) for r in rows if (r[0], int(r[1])) in wanted}

    def alerts_between(self, start: int, stop: int) -> list[tuple[int, str, str]]:
        rows = self._query(
            "SELECT seq, rule, subject FROM alerts WHERE seq >= ? AND seq < ? ORDER BY seq, rule",
            (start, stop),
        )
        return [(int(s), r, subj) for s, r, subj in rows]

    def content(
        self, targets: list[str]
    ) -> tuple[tuple[dict[str, float], float] | None, dict[str, tuple[Any, Any, Any]]]:
        """The inputs' element content and mass as the mass-balance rule counts them, and each
        input's (chemistry, kWh, kg), a module without its own taking its share of its pack."""
        states = self.battery_states(targets)
        for b in targets:
            states.setdefault(b, BatteryState(b))
        return input_content(targets, states), {b: _own(states[b]) for b in targets}

    # -- writes ----------------------------------------------------------------------------------
    def write(
        self,
        batteries: Sequence[tuple[Any, ...]],
        transfers: Sequence[tuple[Any, ...]],
        recovery: Sequence[tuple[Any, ...]],
        inputs: Sequence[tuple[Any, ...]],
        reporting: Sequence[tuple[Any, ...]],
    ) -> None:
        self._many(BATTERY_UPSERT, batteries)
        self._many(TRANSFER_UPSERT, transfers)
        self._many(RECOVERY_INSERT, recovery)
        self._many(INPUT_INSERT, inputs)
        self._many(REPORTING_UPSERT, reporting)


def _own(s: BatteryState) -> tuple[Any, Any, Any]:
    if (s.chemistry is None or s.rated_energy_kwh is None) and s.pack_info is not None:
        p, share = s.pack_info, 1.0 / max(s.pack_info.modules, 1)
        kwh = None if p.rated_energy_kwh is None else p.rated_energy_kwh * share
        kg = None if p.mass_kg is None else p.mass_kg * share
        return p.chemistry, kwh, kg
    return s.chemistry, s.rated_energy_kwh, s.mass_kg


@contextmanager
def locked_transaction(store: EventStore) -> Iterator[FactTx]:
    """A transaction holding the store's writer lock; committed if the block succeeds."""
    sql = sql_store(store)
    sqlite = sql.engine.dialect.name == "sqlite"
    with translating("refreshing the fact tables"):
        raw = sql.engine.raw_connection()
        conn: Any = raw.driver_connection
        try:
            if sqlite:
                conn.execute("BEGIN IMMEDIATE")  # the connection is in autocommit mode
            else:
                from ionledger.store.postgres import WRITER_LOCK

                conn.execute(
                    "SELECT pg_advisory_xact_lock(%s, hashtext(current_schema()))", (WRITER_LOCK,)
                )
            yield FactTx(conn, sql)
            if sqlite:
                conn.execute("COMMIT")
            else:
                conn.commit()
        except BaseException:
            if not sqlite:
                conn.rollback()
            elif conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        finally:
            raw.close()
