"""Bring the fact tables (docs/analytics.md) up to date with the events.

Incremental: only events at or after the stored watermark (``fact_state.next_seq``) are read, a
chunk at a time, each chunk's fact rows written and the watermark moved in one transaction. On a
store that is up to date a refresh is two small reads. ``ionledger rebuild`` empties the facts
and the watermark with the other projections; the next refresh recomputes them.

Roles and white-list entries are looked up in the registry as it is at refresh time (white-list
validity on the event's day).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from operator import itemgetter

from ionledger.analytics.facts_derive import (
    BATTERY_COLUMNS,
    ChunkFacts,
    Event,
    day_of,
    reporting_rows,
)
from ionledger.analytics.facts_store import FactTx, locked_transaction, sql_store
from ionledger.governance.registry import REGISTRY_RECORD_TYPE, Registry
from ionledger.services.capture import facts_of_stored
from ionledger.services.registry import load_registry
from ionledger.store.port import EventStore
from ionledger.store.schema_facts import FACT_TABLES

CHUNK_EVENTS = 20_000
_BATTERY_ROW = itemgetter(*BATTERY_COLUMNS)


@dataclass(frozen=True, slots=True)
class RefreshReport:
    first_seq: int  # the watermark before
    next_seq: int  # and after: every event below it is in the facts
    events: int  # events read
    batteries: int  # battery rows written
    seconds: float

    @property
    def rate(self) -> float:
        """Events per second."""
        return self.events / self.seconds if self.seconds > 0 else 0.0


def refresh(store: EventStore, *, chunk: int = CHUNK_EVENTS) -> RefreshReport:
    """Derive facts from every event after the watermark; returns what was done."""
    if chunk < 1:
        raise ValueError("chunk must be at least one event")
    started = time.perf_counter()
    registry: Registry | None = None  # loaded only when there is something to do
    first: int | None = None
    events = batteries = 0
    while True:
        with locked_transaction(store) as tx:
            start, end = tx.watermark(), tx.next_event_seq()
            first = start if first is None else first
            if start >= end:
                break
            if registry is None:
                registry = load_registry(store)
            stop = min(start + chunk, end)
            read, written = _chunk(tx, registry, start, stop)
            tx.set_watermark(stop)
        events += read
        batteries += written
    if batteries >= RESTATISTIC_ROWS:
        analyze(store)
    return RefreshReport(first, start, events, batteries, time.perf_counter() - started)


# A refresh that wrote this many battery rows renews the planner's statistics of the facts:
# the reports group on their columns, and on SQLite a plan made without statistics (or with
# those of a much smaller table) sorts where an index would serve. Small refreshes leave them.
RESTATISTIC_ROWS = 50_000


def analyze(store: EventStore) -> None:
    """ANALYZE the fact tables (both engines keep table statistics for their planners)."""
    sql = sql_store(store)
    with sql.engine.begin() as conn:
        for table in FACT_TABLES:
            conn.exec_driver_sql(f"ANALYZE {table.name}")


def _chunk(tx: FactTx, registry: Registry, start: int, stop: int) -> tuple[int, int]:
    stored = tx.events(start, stop)
    events = [
        Event(e.seq, facts_of_stored(e), e.doc, day_of(e.event_time))
        for e in stored
        if e.event_type != REGISTRY_RECORD_TYPE
    ]
    facts = ChunkFacts(registry, tx)
    facts.derive(events, start, stop)
    rows = [_BATTERY_ROW(r) for r in facts.batteries.values()]
    tx.write(
        rows,
        [tuple(t) for t in facts.transfers.values()],
        facts.recovery,
        [tuple(i) for i in facts.inputs],
        reporting_rows(facts.reporting),
    )
    return len(stored), len(rows)
