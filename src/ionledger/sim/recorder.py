"""Collects one pack's events: stamps each with an eventID, its time and its declaration time.

Events are kept with their time and sorted when the pack is done, so that planted anomalies can
be recorded out of order and still go out in time order.
"""

from __future__ import annotations

from typing import Any

from ionledger.domain.vocabulary import Stage
from ionledger.epcis.model import Event, SensorElement
from ionledger.sim import params as p
from ionledger.sim.anomalies import calendar_days
from ionledger.sim.epcis_writer import EventBuilder
from ionledger.sim.fleet import SiteRef
from ionledger.sim.identifiers import DAY, Clock, EventIds

# Reporting deadlines by duty, in seconds (DOMAIN.md's working days, see params).
DEADLINE_S = {
    duty: calendar_days(working_days) * DAY
    for duty, working_days in (
        ("vehicle_maker", p.DEADLINE_VEHICLE_MAKER),
        ("repairer", p.DEADLINE_REPAIRER),
        ("outlet", p.DEADLINE_OUTLET),
        ("dismantler", p.DEADLINE_DISMANTLER),
        ("cascade", p.DEADLINE_CASCADE),
        ("recycler", p.DEADLINE_RECYCLER),
    )
}


class Recorder:
    def __init__(self, clock: Clock, end_t: int, build: EventBuilder) -> None:
        self.clock = clock
        self.build = build
        self._end = end_t
        self._ids: EventIds | None = None
        self._events: list[tuple[int, int, Event]] = []
        self._lag = 0.0

    def start(self, ids: EventIds, lag: float) -> None:
        """A new pack, whose reporters declare events ``lag`` (fraction of a deadline) late."""
        self._ids, self._events, self._lag = ids, [], lag

    def _stamp(self, t: int, duty: str | None, declared_t: int) -> tuple[str, str, str | None]:
        """(eventID, eventTime, declaredAt): on time for a duty, or at ``declared_t`` if >= 0."""
        assert self._ids is not None, "start() first"
        if declared_t < 0 and duty is not None:
            declared_t = min(t + int(self._lag * DEADLINE_S[duty]), self._end)
        declared = self.clock(declared_t) if declared_t >= 0 else None
        return self._ids(), self.clock(t), declared

    @property
    def ids(self) -> EventIds:
        assert self._ids is not None, "start() first"
        return self._ids

    def keep(self, t: int, ev: Event) -> None:
        """Record an event the caller built (one without a reporting duty)."""
        self._events.append((t, len(self._events), ev))

    def event(
        self,
        t: int,
        stage: Stage,
        epcs: list[str],
        site: SiteRef,
        duty: str | None = None,
        *,
        parent: str | None = None,
        declared_t: int = -1,
        ilmd: dict[str, Any] | None = None,
        move: tuple[SiteRef, SiteRef] | None = None,
        sensors: list[SensorElement] | None = None,
    ) -> str:
        """Record an ObjectEvent of ``epcs`` or, given their ``parent``, the stage's aggregation
        or association of them; its eventID. ``ilmd``, ``move`` and ``sensors`` are ObjectEvent
        fields."""
        eid, when, declared = self._stamp(t, duty, declared_t)
        ev: Event
        if parent is None:
            ev = self.build.object_event(
                stage,
                eid,
                when,
                epcs,
                site,
                ilmd=ilmd,
                move=move,
                sensors=sensors,
                declared=declared,
            )
        else:
            ev = self.build.parent_child_event(stage, eid, when, parent, epcs, site, declared)
        self.keep(t, ev)
        return eid

    def transform(
        self,
        t: int,
        stage: Stage,
        inputs: list[str],
        site: SiteRef,
        duty: str,
        *,
        outputs: list[str] | None = None,
        materials: dict[str, float] | None = None,
        ilmd: dict[str, Any] | None = None,
    ) -> str:
        eid, when, declared = self._stamp(t, duty, -1)
        ev = self.build.transformation_event(
            stage,
            eid,
            when,
            inputs,
            site,
            outputs=outputs,
            materials=materials,
            ilmd=ilmd,
            declared=declared,
        )
        self.keep(t, ev)
        return eid

    def sorted_events(self) -> list[Event]:
        self._events.sort()
        return [ev for _, _, ev in self._events]
