"""Screening a batch of events: load the state the rules need, judge each event in order, and
collect what the accepted ones change (transfers, who may read what, alerts, tonnage).

The same screening runs on capture and on ``rebuild``: replayed in seq order against the
registry records before them, the log reproduces the governance tables exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import msgspec

from ionledger.domain.battery import BatteryAttributes
from ionledger.domain.vocabulary import Stage
from ionledger.errors import RuleViolation
from ionledger.governance.calendar import WorkCalendar, china_calendar
from ionledger.governance.registry import Registry, RegistryChange, decode_entry, encode_entry
from ionledger.governance.rules import Context, Verdict, judge, local_date, targets_of
from ionledger.governance.state import BatteryState
from ionledger.services.projector import EventFacts
from ionledger.store.port import AlertRow, GovernanceDelta, Writer


@dataclass(slots=True)
class Screened:
    kept: list[int] = field(default_factory=list)  # positions of the accepted events
    rejected: list[RuleViolation] = field(default_factory=list)
    delta: GovernanceDelta = field(default_factory=GovernanceDelta)


# (party, battery) pairs a capturing Governor remembers as stored: most events name batteries
# whose reporter and province are already on record, and each skipped pair is an index probe
# (INSERT ... ON CONFLICT DO NOTHING) saved. Rows are only ever added (rebuild re-adds the same),
# so a remembered pair stays true; the bound keeps memory flat (about 40 MB).
REMEMBERED_PARTIES = 250_000


class Governor:
    """Holds the registry between batches (reloaded when a registry record changed it), and,
    with ``remember_parties``, which access rows its committed transactions wrote: the caller
    reports each commit (:meth:`committed`) and rollback (:meth:`rolled_back`)."""

    def __init__(
        self, calendar: WorkCalendar | None = None, *, remember_parties: bool = False
    ) -> None:
        self.calendar = calendar or china_calendar()
        self._registry: Registry | None = None
        self._version = -2
        self._remember = remember_parties
        self._stored: dict[tuple[str, str], None] = {}  # committed, oldest first
        self._pending: set[tuple[str, str]] = set()  # written in the open transaction

    def committed(self) -> None:
        """The open transaction committed: its access rows are stored."""
        for pair in self._pending:
            self._stored[pair] = None
        self._pending.clear()
        while len(self._stored) > REMEMBERED_PARTIES:
            del self._stored[next(iter(self._stored))]

    def rolled_back(self) -> None:
        """The open transaction was abandoned: what it wrote is not stored."""
        self._pending.clear()

    def _new_parties(self, parties: set[tuple[str, str]]) -> set[tuple[str, str]]:
        if not self._remember:
            return parties
        fresh = {p for p in parties if p not in self._stored and p not in self._pending}
        self._pending |= fresh
        return fresh

    def registry(self, writer: Writer) -> Registry:
        version = writer.registry_version()
        if self._registry is None or version != self._version:
            registry = Registry()
            for kind, _key, doc in writer.registry_rows():
                registry.put(kind, decode_entry(kind, doc))
            self._registry, self._version = registry, version
        return self._registry

    def forget(self) -> None:
        """Drop the cached registry (after a rollback, or when the store was rebuilt)."""
        self._registry, self._version = None, -2

    # -- registry records -----------------------------------------------------------------------
    def registry_change(
        self, writer: Writer, change: RegistryChange, seq: int, delta: GovernanceDelta
    ) -> None:
        """Check a change against the registry and add it to ``delta`` (raises if invalid)."""
        registry = self.registry(writer)
        kind, key, entry = registry.check(change)
        registry.put(kind, entry)
        delta.registry.append((kind, key, encode_entry(entry), seq))
        self._version = seq  # the writer will report this version once the delta is applied

    # -- events ---------------------------------------------------------------------------------
    def screen(
        self,
        writer: Writer,
        facts: Sequence[EventFacts],
        indexes: Sequence[int],
        record_times: Sequence[str],
        *,
        first_seq: int,
        replay: bool = False,
    ) -> Screened:
        """Judge ``facts`` in order; the k-th accepted event will get seq ``first_seq + k``.
        On replay nothing is rejected (the log already holds it): its alerts are still raised."""
        registry = self.registry(writer)
        ids = {b for f in facts for b in f.battery_kinds}
        states = writer.battery_states(sorted(ids))
        for b in ids:
            states.setdefault(b, BatteryState(b))
        out = Screened()
        delta = out.delta
        tonnage: dict[tuple[str, int], float] = {}

        def tonnage_of(enterprise: str, year: int) -> float:
            key = (enterprise, year)
            if key not in tonnage:
                tonnage[key] = writer.recycler_tonnage(enterprise, year)
            return tonnage[key]

        ctx = Context(registry, self.calendar, record_times[0] if record_times else "", tonnage_of)
        seq = first_seq
        for position, f in enumerate(facts):
            ctx.record_time = record_times[position]
            verdict = judge(f, indexes[position], states, ctx)
            if verdict.rejection is not None and not replay:
                out.rejected.append(verdict.rejection)
                continue
            out.kept.append(position)
            self._effects(f, seq, verdict, states, registry, delta, tonnage, tonnage_of)
            seq += 1
        delta.parties = self._new_parties(delta.parties)
        return out

    def _effects(
        self,
        f: EventFacts,
        seq: int,
        verdict: Verdict,
        states: dict[str, BatteryState],
        registry: Registry,
        delta: GovernanceDelta,
        tonnage: dict[tuple[str, int], float],
        tonnage_of: Callable[[str, int], float],
    ) -> None:
        for battery, transfer in verdict.receipts:
            states[battery].transfers.remove(transfer)
            delta.received.append((seq, battery, transfer.ship_seq))
        dest = f.destinations[0] if f.destinations else None
        dest_province = registry.province_of(dest) if dest else None
        attrs = None
        if f.stage is Stage.COMMISSIONING and f.ilmd:
            attrs = BatteryAttributes.from_ilmd(f.ilmd)
        for b in targets_of(f):
            state = states[b]
            before = len(state.transfers)
            state.advance(f, seq, verdict.receiver, attrs)
            if len(state.transfers) > before:
                delta.shipped.append((b, seq, f.reporter, dest, verdict.receiver, f.event_time))
        for b in f.battery_kinds:
            delta.parties.add((f.reporter, b))
            if verdict.receiver is not None:
                delta.parties.add((verdict.receiver, b))
            if f.province:
                delta.parties.add((f"province:{f.province}", b))
            if dest_province:
                delta.parties.add((f"province:{dest_province}", b))
        if verdict.processed_kg > 0:
            year = local_date(f.event_time, f.offset).year
            key = (f.reporter, year)
            tonnage[key] = tonnage_of(f.reporter, year) + verdict.processed_kg
            delta.tonnage[key] = delta.tonnage.get(key, 0.0) + verdict.processed_kg
        for alert in verdict.alerts:
            delta.alerts.append(
                AlertRow(
                    seq=seq,
                    rule=alert.rule,
                    subject=alert.subject,
                    reporter=f.reporter,
                    province=f.province,
                    event_time=f.event_time,
                    message=alert.message,
                    details=msgspec.json.encode(alert.details),
                )
            )
