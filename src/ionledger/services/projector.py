"""Turn accepted events into projection deltas (battery state, genealogy, test results).

Pure: the same events in the same seq order give the same delta, whatever the batch boundaries,
because every merge rule is associative (first non-null attribute by seq; latest value by
(event time, seq); counts add). That is what lets ``rebuild`` reproduce the projections exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ionledger.domain.battery import BatteryAttributes
from ionledger.domain.vocabulary import (
    MEASURE_CAPACITY,
    MEASURE_RESISTANCE,
    MEASURE_SOH,
    STAGE_BY_NAME,
    Stage,
    State,
)
from ionledger.store.port import BatteryDelta, EdgeOp, ProjectionDelta, TestRow

# Stages after which the reporter holds the battery. Shipping does not move custody: the
# shipper stays custodian until the receiver reports receiving.
# Dismantling hands the pack's contents to whoever took it apart (who held the pack).
CUSTODY_STAGES = frozenset(
    {
        Stage.COMMISSIONING,
        Stage.COLLECTION,
        Stage.RECEIVING,
        Stage.RETIREMENT,
        Stage.REPLACEMENT,
        Stage.DISMANTLING,
    }
)


@dataclass(slots=True)
class EventFacts:
    """What the projections need from one event, with identifiers already canonical."""

    event_type: str
    event_time: str  # UTC key
    reporter: str
    stage: Stage | None
    action: str | None
    province: str | None = None
    epcs: list[str] = field(default_factory=list)  # epcList
    parent: str | None = None
    children: list[str] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    ilmd: dict[str, Any] = field(default_factory=dict)
    measurements: list[tuple[str, float, str | None]] = field(default_factory=list)
    # Every identifier the event names (batteries, vehicles, ...) once each, in order; and of
    # those, the batteries with their (kind, manufacturer).
    mentioned: dict[str, None] = field(default_factory=dict)
    battery_kinds: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    # For the governance rules: when it was declared (UTC key; ion:declaredAt), the local
    # offset of eventTime, the destinations named (owning party, then location), and the
    # output quantities (class, kg) of a transformation.
    declared_at: str | None = None
    offset: str | None = None
    destinations: list[str] = field(default_factory=list)
    outputs_kg: list[tuple[str, float]] = field(default_factory=list)


def _targets(f: EventFacts) -> list[str]:
    """The batteries whose state a stage changes."""
    if f.event_type in ("AggregationEvent", "AssociationEvent"):
        return f.children
    if f.event_type == "TransformationEvent":
        return f.inputs
    return f.epcs


def _set_state(row: BatteryDelta, value: str, key: tuple[str, int]) -> None:
    if row.state_key is None or key > row.state_key:
        row.state = value
        row.state_key = key


def _set_custodian(row: BatteryDelta, value: str, key: tuple[str, int]) -> None:
    if row.custodian_key is None or key > row.custodian_key:
        row.custodian = value
        row.custodian_key = key


class Projector:
    """Accumulates one batch's delta. Feed events in seq order, then take ``delta``."""

    def __init__(self) -> None:
        self.delta = ProjectionDelta()

    def add(self, seq: int, f: EventFacts) -> None:
        # The per-mention loops are the import's hottest code: kept inline and attribute-free.
        key = (f.event_time, seq)
        self.delta.links.extend([(mid, seq) for mid in f.mentioned])
        rows = self.delta.batteries
        time, province = f.event_time, f.province
        for bid, (kind, maker) in f.battery_kinds.items():
            row = rows.get(bid)
            if row is None:
                row = rows[bid] = BatteryDelta(
                    id=bid, first_seen=time, kind=kind, manufacturer=maker
                )
            elif time < row.first_seen:
                row.first_seen = time
            row.event_count += 1
            if province and (row.province_key is None or key > row.province_key):
                row.province = province
                row.province_key = key
        if f.stage is None:
            return
        kinds = f.battery_kinds
        targets = [b for b in _targets(f) if b in kinds]
        state = STAGE_BY_NAME[f.stage].state_after
        if f.stage is Stage.DISMANTLING and f.parent is not None and f.parent in kinds:
            _set_state(rows[f.parent], State.DISMANTLED.value, key)
            state = State.RETIRED
        if state is not None:
            for bid in targets:
                _set_state(rows[bid], state.value, key)
        if f.stage in CUSTODY_STAGES:
            for bid in targets:
                _set_custodian(rows[bid], f.reporter, key)
        if f.stage is Stage.COMMISSIONING:
            for bid in targets:
                if rows[bid].commissioned_seq is None:
                    rows[bid].commissioned_seq = seq
            self._attributes(f, [b for b in f.epcs if b in kinds])
        elif f.stage in (Stage.RECYCLING, Stage.DESTRUCTION):
            for bid in targets:
                if rows[bid].ended_time is None:
                    rows[bid].ended_time = time
        elif f.stage is Stage.REPURPOSING:
            outputs = [b for b in f.outputs if b in kinds]
            for out in outputs:
                _set_state(rows[out], State.PRODUCED.value, key)
                _set_custodian(rows[out], f.reporter, key)
                for src in f.inputs:
                    self.delta.edges.append(EdgeOp("add", out, src, "repurposed", seq))
            self._attributes(f, outputs)
        elif f.stage is Stage.TESTING:
            self._tests(seq, f, targets)
        self._edges(seq, f)

    def _attributes(self, f: EventFacts, targets: list[str]) -> None:
        """ILMD attributes; the first value seen (in seq order) for each attribute stays."""
        if not f.ilmd:
            return
        attrs = BatteryAttributes.from_ilmd(f.ilmd)
        chemistry = None if attrs.chemistry is None else attrs.chemistry.value
        category = None if attrs.category is None else attrs.category.value
        energy, capacity, mass = attrs.rated_energy_kwh, attrs.capacity_ah, attrs.mass_kg
        rows = self.delta.batteries
        for bid in targets:
            row = rows[bid]
            if row.chemistry is None:
                row.chemistry = chemistry
            if row.category is None:
                row.category = category
            if row.rated_energy_kwh is None:
                row.rated_energy_kwh = energy
            if row.capacity_ah is None:
                row.capacity_ah = capacity
            if row.mass_kg is None:
                row.mass_kg = mass

    def _tests(self, seq: int, f: EventFacts, targets: list[str]) -> None:
        found: dict[str, float] = {}
        for mtype, value, _uom in f.measurements:
            found.setdefault(mtype, value)
        if not found:
            return
        for bid in targets:
            self.delta.tests.append(
                TestRow(
                    bid,
                    seq,
                    f.event_time,
                    found.get(MEASURE_SOH),
                    found.get(MEASURE_CAPACITY),
                    found.get(MEASURE_RESISTANCE),
                )
            )

    def _edges(self, seq: int, f: EventFacts) -> None:
        if f.parent is None or f.event_type not in ("AggregationEvent", "AssociationEvent"):
            return
        relation = "component" if f.event_type == "AggregationEvent" else "installed"
        edges = self.delta.edges
        if f.action == "ADD":
            edges.extend(EdgeOp("add", c, f.parent, relation, seq) for c in f.children)
        elif f.action == "DELETE":
            if f.children:
                edges.extend(EdgeOp("remove", c, f.parent, relation, seq) for c in f.children)
            else:
                edges.append(EdgeOp("remove", None, f.parent, relation, seq))
