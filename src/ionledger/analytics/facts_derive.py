"""What one run of events (in seq order) changes in the fact tables.

:class:`ChunkFacts` folds events into fact rows held in memory: the battery rows the events touch
(loaded from the fact table first, so a chunk continues where the last one stopped), the
shipments they open and close, recycling transformations and reporting counts. Every merge keeps
the first value in seq order (or, for tests, the latest), so the same events give the same rows
however they are cut into chunks: an incremental refresh equals a full one.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import msgspec

from ionledger.domain.vocabulary import (
    GBT_URN_PREFIX,
    ILMD_ORIGINAL_CODE,
    MEASURE_CAPACITY,
    MEASURE_RESISTANCE,
    MEASURE_SOH,
    Stage,
    bare_disposition,
)
from ionledger.governance.registry import Registry, Role, WhiteListCategory
from ionledger.governance.rules import COLLECTOR_ROLES, recovered_elements, targets_of
from ionledger.governance.state import GBT_KINDS
from ionledger.services.projector import EventFacts
from ionledger.store.schema_facts import fact_batteries

BATTERY_COLUMNS: tuple[str, ...] = tuple(c.name for c in fact_batteries.columns)
# Dispositions that count against a battery in cascade triage (CBV 2.0 terms).
NEGATIVE_DISPOSITIONS = frozenset({"damaged", "non_conformant"})
ROUTE_FIELD = "ion:route"  # pyro / hydro / direct on a recycling event, when the recycler says
ROUTES = frozenset({"pyro", "hydro", "direct"})
LATE_RULE = "deadline.late-report"
NATIONAL = "CN"  # reporting province of an event with none, by a reporter with no seat
_DISPOSITION = re.compile(rb'"disposition"\s*:\s*"([^"]*)"')
_EPOCH = datetime.date(1970, 1, 1).toordinal()
_RECEIPTS = frozenset({Stage.COLLECTION, Stage.RECEIVING})
_REMOVALS = frozenset({Stage.RETIREMENT, Stage.REPLACEMENT})


def day_of(time_key: str) -> int:
    """Days since 1970-01-01 of a UTC time key (``2025-10-18T03:09:43.000000Z``)."""
    return datetime.date.fromisoformat(time_key[:10]).toordinal() - _EPOCH


def year_of_day(day: int) -> int:
    return datetime.date.fromordinal(day + _EPOCH).year


class Reader(Protocol):
    """What the derivation reads from the store besides the events (see facts_store)."""

    def fact_rows(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]: ...
    def attributes(self, ids: Sequence[str]) -> dict[str, tuple[Any, ...]]: ...
    def packs_of(self, modules: Sequence[str]) -> dict[str, str]: ...
    def vehicle_installers(self, vehicles: Sequence[str]) -> dict[str, list[str]]: ...
    def transfers_of(self, ids: Sequence[str]) -> list[tuple[Any, ...]]: ...
    def fact_transfers(
        self, keys: Sequence[tuple[str, int]]
    ) -> dict[tuple[str, int], list[Any]]: ...
    def alerts_between(self, start: int, stop: int) -> list[tuple[int, str, str]]: ...
    def content(
        self, targets: list[str]
    ) -> tuple[tuple[dict[str, float], float] | None, dict[str, tuple[Any, Any, Any]]]: ...


@dataclass(slots=True)
class Event:
    """A stored event with its facts (as the projector read them) and its day."""

    seq: int
    facts: EventFacts
    doc: bytes
    day: int


_EMPTY: dict[str, Any] = {**dict.fromkeys(BATTERY_COLUMNS), "negative_events": 0}


def empty_row(battery_id: str) -> dict[str, Any]:
    row = _EMPTY.copy()
    row["battery_id"] = battery_id
    return row


@dataclass
class ChunkFacts:
    """The fact rows one chunk of events produces; feed it with :meth:`derive`."""

    registry: Registry
    reader: Reader
    batteries: dict[str, dict[str, Any]] = field(default_factory=dict)
    transfers: dict[tuple[str, int], list[Any]] = field(default_factory=dict)
    recovery: list[tuple[Any, ...]] = field(default_factory=list)
    inputs: list[list[Any]] = field(default_factory=list)
    reporting: dict[tuple[str, str, int], list[int]] = field(default_factory=dict)
    _pack_of: dict[str, str] = field(default_factory=dict)

    def derive(self, events: Sequence[Event], start: int, stop: int) -> None:
        alerts = self.reader.alerts_between(start, stop)
        ids = self._ids(events, alerts)
        recycled = [
            b for e in events if e.facts.stage is Stage.RECYCLING for b in targets_of(e.facts)
        ]
        self._pack_of = self.reader.packs_of(sorted(set(recycled)))
        ids.update(self._pack_of.values())
        self._load(sorted(ids))
        late = {seq for seq, rule, _subject in alerts if rule == LATE_RULE}
        for _seq, _rule, subject in alerts:
            row = self.batteries.get(subject)
            if row is not None:
                row["negative_events"] += 1
        for e in events:
            self._event(e)
            self._report(e, e.seq in late)
        self._transfers(events)
        self._producers()
        for entry in self.inputs:
            entry[3] = self._producer_of(entry[1])

    # -- loading -------------------------------------------------------------------------------
    @staticmethod
    def _ids(events: Sequence[Event], alerts: Iterable[tuple[int, str, str]]) -> set[str]:
        ids = {
            b
            for e in events
            for b, (kind, _m) in e.facts.battery_kinds.items()
            if kind in GBT_KINDS
        }
        ids.update(subject for _seq, _rule, subject in alerts)
        return ids

    def _load(self, ids: list[str]) -> None:
        """The stored fact rows of these batteries, new rows for the others, and each one's
        attributes as the battery projection has them (ids that are no battery are dropped)."""
        attrs = self.reader.attributes(ids)
        stored = self.reader.fact_rows([i for i in ids if i in attrs])
        for bid, (kind, chemistry, category, kwh, kg) in attrs.items():
            row = stored.get(bid) or empty_row(bid)
            row["kind"], row["chemistry"], row["category"] = kind, chemistry, category
            row["energy_kwh"], row["mass_kg"] = kwh, kg
            self.batteries[bid] = row

    # -- one event -----------------------------------------------------------------------------
    def _event(self, e: Event) -> None:
        f, day, rows = e.facts, e.day, self.batteries
        targets = [b for b in targets_of(f) if b in rows]
        negative = _DISPOSITION.search(e.doc)
        if negative and bare_disposition(negative.group(1).decode()) in NEGATIVE_DISPOSITIONS:
            for b in f.battery_kinds:
                if b in rows:
                    rows[b]["negative_events"] += 1
        stage = f.stage
        if stage is None:
            return
        if stage is Stage.COMMISSIONING:
            for b in targets:
                self._made(rows[b], day, f.reporter, f.province)
        elif stage is Stage.INSTALLATION:
            for b in targets:
                self._installed(rows[b], day, f)
        elif stage is Stage.SALE:
            for b in targets:
                self._sold(rows[b], day, f.province)
        elif stage in _REMOVALS:
            for b in targets:
                r = rows[b]
                if r["retired_day"] is None:
                    r.update(retired_day=day, retired_year=year_of_day(day))
                    r.update(retired_by=f.reporter, retired_province=f.province)
        elif stage in _RECEIPTS:
            for b in targets:
                self._received(rows[b], day, f.reporter)
        elif stage is Stage.TESTING:
            self._tested(targets, e)
        elif stage is Stage.REPURPOSING:
            self._repurposed(targets, e)
        elif stage is Stage.RECYCLING:
            self._recycled(targets, e)

    @staticmethod
    def _made(r: dict[str, Any], day: int, reporter: str, province: str | None) -> None:
        if r["produced_day"] is None:
            r["produced_day"], r["battery_maker"] = day, reporter
            if r["placed_via"] is None and r["province"] is None:
                r["province"] = province

    @staticmethod
    def _installed(r: dict[str, Any], day: int, f: EventFacts) -> None:
        if r["vehicle"] is None:
            r["vehicle"] = f.parent
        if r["placed_via"] is None:
            r.update(placed_day=day, placed_year=year_of_day(day), placed_via="installation")
            r["province"] = f.province or r["province"]

    @staticmethod
    def _sold(r: dict[str, Any], day: int, province: str | None) -> None:
        if r["placed_via"] != "sale":
            r.update(placed_day=day, placed_year=year_of_day(day), placed_via="sale")
            r["province"] = province or r["province"]

    def _received(self, r: dict[str, Any], day: int, reporter: str) -> None:
        retired = r["retired_day"]
        if retired is None or day < retired:
            return
        on = datetime.date.fromordinal(day + _EPOCH).isoformat()
        listed = any(self.registry.white_listed(reporter, c, on) for c in WhiteListCategory)
        if r["collected_day"] is None and self.registry.roles(reporter) & COLLECTOR_ROLES:
            r.update(collected_day=day, collected_by=reporter, collected_whitelisted=int(listed))
        if r["whitelisted_day"] is None and listed:
            r.update(whitelisted_day=day, whitelisted_by=reporter)

    def _tested(self, targets: list[str], e: Event) -> None:
        found: dict[str, float] = {}
        for mtype, value, _uom in e.facts.measurements:
            found.setdefault(mtype, value)
        if not found:
            return
        for b in targets:
            r = self.batteries[b]
            if r["test_day"] is None or e.day >= r["test_day"]:  # seq order: later wins ties
                r.update(
                    soh_pct=found.get(MEASURE_SOH),
                    capacity_ah=found.get(MEASURE_CAPACITY),
                    resistance_ohm=found.get(MEASURE_RESISTANCE),
                    test_day=e.day,
                    test_seq=e.seq,
                )

    def _repurposed(self, targets: list[str], e: Event) -> None:
        f = e.facts
        for b in targets:
            r = self.batteries[b]
            if r["repurposed_day"] is None:
                r.update(repurposed_day=e.day, repurposed_by=f.reporter)
        original = f.ilmd.get(ILMD_ORIGINAL_CODE)
        if isinstance(original, str) and original.startswith(GBT_URN_PREFIX):
            original = original[len(GBT_URN_PREFIX) :]
        elif len(f.inputs) == 1:
            original = f.inputs[0]
        for out in f.outputs:
            product = self.batteries.get(out)
            if product is None:
                continue
            self._made(product, e.day, f.reporter, f.province)
            if product["original_id"] is None and isinstance(original, str):
                product["original_id"] = original

    def _recycled(self, targets: list[str], e: Event) -> None:
        f, year = e.facts, year_of_day(e.day)
        for b in targets:
            for bid in (b, self._pack_of.get(b)):
                r = self.batteries.get(bid) if bid else None
                if r is not None and r["recycled_day"] is None:
                    r.update(recycled_day=e.day, recycled_by=f.reporter)
        if not targets:
            return
        counted, per_input = self.reader.content(targets)
        for b in targets:
            chemistry, kwh, kg = per_input.get(b, (None, None, None))
            pack = b if self.batteries[b]["kind"] == "pack" else self._pack_of.get(b)
            self.inputs.append([e.seq, b, pack, None, chemistry, kg, kwh, year])
        content, mass = counted if counted is not None else ({}, None)
        recovered = recovered_kg(f)
        route = route_of(e.doc)
        for element in sorted(set(content) | set(recovered)):
            contained = content.get(element) if counted is not None else None
            got = recovered.get(element, 0.0)
            if got == 0.0 and not contained:
                continue  # an element the chemistry does not have, and none declared
            self.recovery.append(
                (e.seq, f.reporter, f.province, year, e.day, route, mass, element, contained, got)
            )

    def _report(self, e: Event, late: bool) -> None:
        f = e.facts
        province = f.province
        if province is None:
            seat = self.registry.enterprise(f.reporter)
            province = seat.province if seat is not None else NATIONAL
        key = (f.reporter, province, year_of_day(e.day))
        counts = self.reporting.setdefault(key, [0, 0])
        counts[0] += 1
        counts[1] += int(late)

    # -- after the events ----------------------------------------------------------------------
    def _transfers(self, events: Sequence[Event]) -> None:
        """Shipments the chunk opened (from the transfers projection) and closed."""
        ships = {e.seq: e for e in events if e.facts.stage is Stage.SHIPPING}
        receipts = {e.seq: e for e in events if e.facts.stage is Stage.RECEIVING}
        if not ships and not receipts:
            return
        ids = {b for e in (*ships.values(), *receipts.values()) for b in targets_of(e.facts)}
        rows = self.reader.transfers_of(sorted(ids))
        for battery, ship_seq, shipper, receiver, _received in rows:
            e = ships.get(int(ship_seq))
            if e is not None:
                self.transfers[(battery, int(ship_seq))] = [
                    battery, int(ship_seq), shipper, receiver, e.facts.province, None, e.day, None
                ]  # fmt: skip
        closed = [
            (battery, int(ship_seq), receipts[int(received)])
            for battery, ship_seq, _s, _r, received in rows
            if received is not None and int(received) in receipts
        ]
        missing = [(b, s) for b, s, _e in closed if (b, s) not in self.transfers]
        self.transfers.update(self.reader.fact_transfers(missing))
        for battery, ship_seq, e in closed:
            row = self.transfers.get((battery, ship_seq))
            if row is not None:
                row[5], row[7] = e.facts.province, e.day

    def _producers(self) -> None:
        """Producer of each battery installed in a vehicle: the vehicle maker that installed
        the vehicle's first pack (a 4S store fitting a spare is not the producer)."""
        open_rows = [r for r in self.batteries.values() if r["producer"] is None and r["vehicle"]]
        if not open_rows:
            return
        installers = self.reader.vehicle_installers(sorted({r["vehicle"] for r in open_rows}))
        for r in open_rows:
            for reporter in installers.get(r["vehicle"], ()):
                if Role.VEHICLE_MAKER in self.registry.roles(reporter):
                    r["producer"] = reporter
                    break

    def _producer_of(self, battery: str) -> str | None:
        """A consumed battery's producer, else its pack's: the lineage EPR attributes by."""
        for bid in (battery, self._pack_of.get(battery)):
            r = self.batteries.get(bid) if bid else None
            if r is not None and r["producer"] is not None:
                return str(r["producer"])
        return None


def recovered_kg(f: EventFacts) -> dict[str, float]:
    """What a recycling transformation declares it recovered, kg by element (the governance
    mass-balance rule reads its outputs the same way)."""
    return recovered_elements(f)


def route_of(doc: bytes) -> str | None:
    if ROUTE_FIELD.encode() not in doc:
        return None
    value = msgspec.json.decode(doc).get(ROUTE_FIELD)
    return value if isinstance(value, str) and value in ROUTES else None


def reporting_rows(counts: Mapping[tuple[str, str, int], list[int]]) -> list[tuple[Any, ...]]:
    return [(*key, n, late) for key, (n, late) in sorted(counts.items())]
