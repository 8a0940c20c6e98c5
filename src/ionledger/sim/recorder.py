"""Collects one pack's events: stamps each with an eventID, its time and its declaration time.

Events are kept with their time and sorted when the pack is done, so that planted anomalies can
be recorded out of order and still go out in time order.

Declaration times follow the governance rules' reporting deadlines exactly
(:mod:`ionledger.governance.deadlines`: working days by stage and the reporter's roles, on
China's calendar): an event whose stage the reporter owes a report for carries
``ion:declaredAt`` on or before the deadline day (China's local date), unless it is a planted
late report; an event without a duty carries none.
"""

from __future__ import annotations

import datetime
from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt

from ionledger.domain.date_codes import FIRST_YEAR
from ionledger.domain.vocabulary import Stage
from ionledger.epcis.model import Event, SensorElement
from ionledger.governance.calendar import china_calendar
from ionledger.governance.deadlines import deadline_days
from ionledger.sim.epcis_writer import EventBuilder
from ionledger.sim.fleet import Population, SiteRef
from ionledger.sim.identifiers import DAY, Clock, EventIds, date_of, day_number

IntArray = npt.NDArray[np.int64]


class WorkingDays:
    """China's working days (the governance calendar) as a running count over a span of day
    numbers, so that a deadline costs a look-up instead of a walk through the calendar."""

    def __init__(self, first_day: int, last_day: int) -> None:
        calendar = china_calendar()
        days = range(first_day, last_day + 1)
        work = np.array([calendar.is_working_day(date_of(d)) for d in days], dtype=np.int64)
        self.first, self.last = first_day, last_day
        self._count = np.cumsum(work)
        self._tables: dict[int, list[int]] = {}

    def add(self, day: IntArray, n: IntArray) -> IntArray:
        """The day ``n`` working days after each ``day`` (calendar.add_working_days)."""
        target = self._count[day - self.first] + n
        found: IntArray = np.searchsorted(self._count, target, side="left") + self.first
        if np.any(found > self.last):
            raise ValueError("a deadline falls outside the working-day table")
        return found

    def deadline_table(self, n: int) -> list[int]:
        """Per day of the span (from ``first``): the day ``n`` working days later."""
        table = self._tables.get(n)
        if table is None:
            days = np.arange(self.first, self.last - 3 * n - 30, dtype=np.int64)
            table = self._tables[n] = self.add(days, np.full(len(days), n)).tolist()
        return table


@cache
def working_days(end_day: int) -> WorkingDays:
    """The table for a run ending on ``end_day``: from before the first codable production year
    to well past the last deadline (30 working days are at most ~45 calendar days)."""
    return WorkingDays(day_number(datetime.date(FIRST_YEAR - 1, 1, 1)), end_day + 400)


class Recorder:
    def __init__(self, clock: Clock, end_t: int, build: EventBuilder, pop: Population) -> None:
        self.clock = clock
        self.build = build
        self._end = end_t
        self._ids: EventIds | None = None
        self._events: list[tuple[int, int, Event]] = []
        self._lag = 0.0
        self._roles = {e.id: frozenset(e.roles) for e in pop.enterprises}
        self._days: dict[tuple[Stage, str], int] = {}  # (stage, reporter) -> working days
        self.work = working_days(end_t // DAY)

    def start(self, ids: EventIds, lag: float) -> None:
        """A new pack, whose reporters declare events ``lag`` (a fraction of the time their
        deadline leaves) after they happen."""
        self._ids, self._events, self._lag = ids, [], lag

    def deadline_days(self, stage: Stage, reporter: str) -> int:
        """Working days ``reporter`` has to report ``stage`` (0: no duty)."""
        key = (stage, reporter)
        days = self._days.get(key)
        if days is None:
            days = self._days[key] = deadline_days(stage, self._roles.get(reporter, set())) or 0
        return days

    def _stamp(
        self, t: int, stage: Stage, site: SiteRef, declared_t: int
    ) -> tuple[str, str, str | None]:
        """(eventID, eventTime, declaredAt): on time where the reporter owes a report, or at
        ``declared_t`` if >= 0."""
        assert self._ids is not None, "start() first"
        if declared_t < 0:
            days = self.deadline_days(stage, site.reporter)
            if days:
                table = self.work.deadline_table(days)
                last = (table[t // DAY - self.work.first] + 1) * DAY - 1  # end of the last day
                declared_t = min(t + int(self._lag * (last - t)), self._end)
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
        eid, when, declared = self._stamp(t, stage, site, declared_t)
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
        *,
        outputs: list[str] | None = None,
        materials: dict[str, float] | None = None,
        ilmd: dict[str, Any] | None = None,
    ) -> str:
        eid, when, declared = self._stamp(t, stage, site, -1)
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
