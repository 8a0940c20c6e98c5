"""A battery's full history and genealogy, as a timeline."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

from ionledger.domain.identity import canonical_id
from ionledger.domain.vocabulary import FIELD_PROVINCE, STAGE_BY_NAME, Stage, stage_of
from ionledger.errors import NotFound
from ionledger.governance.access import Principal
from ionledger.services.scoped import ScopedStore
from ionledger.store.port import BatteryRow, Edge, EventStore, StoredEvent, TestRow

_MAX_ORIGINS = 16  # a repurposing chain longer than this is a data error, not a history
# A pack's history ends where its parts end: their recycling, second life or destruction.
_END_OF_LIFE_STEPS = frozenset(
    STAGE_BY_NAME[s].biz_step for s in (Stage.RECYCLING, Stage.REPURPOSING, Stage.DESTRUCTION)
)


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    seq: int
    event_time: str
    record_time: str
    event_type: str
    stage: str | None
    biz_step: str | None
    reporter: str
    province: str | None
    identity: str
    event: dict[str, Any]
    of_parts: bool = False  # the event is about parts of the battery (e.g. its modules recycled)


@dataclass(frozen=True, slots=True)
class Trace:
    battery_id: str
    battery: BatteryRow | None
    origins: list[str]  # codes this battery was repurposed from, nearest first
    timeline: list[TimelineEntry]
    genealogy: list[Edge]
    tests: list[TestRow]


def entry(event: StoredEvent, *, of_parts: bool = False) -> TimelineEntry:
    doc = msgspec.json.decode(event.doc)
    stage = stage_of(event.biz_step, doc.get("action"))
    return TimelineEntry(
        seq=event.seq,
        event_time=event.event_time,
        record_time=event.record_time,
        event_type=event.event_type,
        stage=stage.value if stage else None,
        biz_step=event.biz_step,
        reporter=event.reporter,
        province=doc.get(FIELD_PROVINCE),
        identity=event.identity,
        event=doc,
        of_parts=of_parts,
    )


def trace(store: EventStore, code: str, principal: Principal | None = None) -> Trace:
    """Everything recorded about a battery (and what it was repurposed from); with a
    principal, only if that principal may read the battery's history."""
    battery_id = canonical_id(code)
    if principal is not None:
        ScopedStore(store, principal).check_battery(battery_id)
    with store.reading():  # one connection, one consistent snapshot
        return _trace(store, battery_id)


def _trace(store: EventStore, battery_id: str) -> Trace:
    battery = store.battery(battery_id)
    edges = store.edges_of([battery_id])
    origins: list[str] = []
    frontier = battery_id
    for _ in range(_MAX_ORIGINS):
        nxt = [e.parent for e in edges if e.child == frontier and e.relation == "repurposed"]
        if not nxt or nxt[0] in origins:
            break
        origins.append(nxt[0])
        frontier = nxt[0]
        edges += store.edges_of([frontier])
    events = store.events_for([battery_id, *origins])
    if battery is None and not events:
        raise NotFound(f"no battery or vehicle {battery_id!r} in this store")
    timeline = [entry(e) for e in events]
    parts = [e.child for e in edges if e.parent == battery_id and e.relation == "component"]
    if parts:
        own = {e.seq for e in events}
        for part_event in store.events_for(parts):
            if part_event.seq not in own and part_event.biz_step in _END_OF_LIFE_STEPS:
                timeline.append(entry(part_event, of_parts=True))
        timeline.sort(key=lambda t: (t.event_time, t.seq))
    unique_edges = sorted(set(edges), key=lambda e: (e.added_seq, e.child, e.parent))
    return Trace(
        battery_id=battery_id,
        battery=battery,
        origins=origins,
        timeline=timeline,
        genealogy=unique_edges,
        tests=store.test_results(battery_id),
    )
