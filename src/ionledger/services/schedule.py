"""EPCIS query schedules (QuerySchedule: second, minute, hour, dayOfMonth, month, dayOfWeek)
and the SubscriptionControlsException raised for malformed subscription controls."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from typing import Any

from ionledger.errors import ValidationError

_NEVER_DAYS = 366 * 28  # the calendar repeats every 28 years: no match by then, none ever


class SubscriptionControlsError(ValidationError):
    """EPCIS SubscriptionControlsException: stream / schedule / reportIfEmpty /
    initialRecordTime are missing, malformed or contradictory."""

    code = "subscription-controls"
    epcis_exception = "SubscriptionControlsException"

    def __init__(self, control: str, problem: str) -> None:
        self.control = control
        self.reason = problem
        super().__init__(f"{control}: {problem}")

    def details(self) -> dict[str, Any]:
        return {"parameter": self.control, "reason": self.reason}


_RANGES = {
    "second": (0, 59),
    "minute": (0, 59),
    "hour": (0, 23),
    "dayOfMonth": (1, 31),
    "month": (1, 12),
    "dayOfWeek": (1, 7),
}
_ELEMENT = re.compile(r"(?:(\d+)|\[(\d+)-(\d+)\])(?:/(\d+))?")


def _field_values(name: str, text: str) -> frozenset[int]:
    low, high = _RANGES[name]
    values: set[int] = set()
    for element in text.replace(" ", "").split(","):
        m = _ELEMENT.fullmatch(element)
        if m is None:
            raise SubscriptionControlsError(
                f"schedule.{name}", f"{element!r} is not a number, [a-b] range or n/step"
            )
        single, first, last, step = m.groups()
        start, stop = (int(single), int(single)) if single else (int(first), int(last))
        if step:  # n/step: from n to the end of the range
            stop = high if single else stop
            if int(step) < 1:
                raise SubscriptionControlsError(f"schedule.{name}", "a step must be at least 1")
        if not low <= start <= stop <= high:
            raise SubscriptionControlsError(
                f"schedule.{name}", f"{element!r} is outside {low}..{high} or a reversed range"
            )
        values.update(range(start, stop + 1, int(step or 1)))
    return frozenset(values)


@dataclass(frozen=True)
class Schedule:
    """A QuerySchedule: the UTC times whose every given field matches (omitted: any)."""

    fields: dict[str, str]
    allowed: dict[str, tuple[int, ...]] = field(compare=False)

    @classmethod
    def parse(cls, fields: Mapping[str, Any]) -> Schedule:
        unknown = sorted(set(fields) - set(_RANGES))
        if unknown:
            raise SubscriptionControlsError(
                f"schedule.{unknown[0]}", f"not a schedule field ({', '.join(_RANGES)})"
            )
        given: dict[str, str] = {}
        for name, value in fields.items():
            if isinstance(value, bool) or not isinstance(value, str | int):
                raise SubscriptionControlsError(f"schedule.{name}", f"{value!r} is not a string")
            given[name] = str(value)
        if not given:
            raise SubscriptionControlsError("schedule", "give at least one field")
        allowed = {
            name: tuple(
                sorted(_field_values(name, given[name]) if name in given else range(a, b + 1))
            )
            for name, (a, b) in _RANGES.items()
        }
        schedule = cls(given, allowed)
        schedule.next_after(datetime.now(UTC))  # refuse schedules that never fire
        return schedule

    def _day_matches(self, day: date) -> bool:
        a = self.allowed
        return (
            day.month in a["month"]
            and day.day in a["dayOfMonth"]
            and (day.isoweekday() in a["dayOfWeek"])
        )

    def _first_in_day(self, floor: clock) -> clock | None:
        """The first matching time of day at or after ``floor``."""
        start = (floor.hour, floor.minute, floor.second)
        for h in self.allowed["hour"]:
            if h < start[0]:
                continue
            for m in self.allowed["minute"]:
                if (h, m) < start[:2]:
                    continue
                for s in self.allowed["second"]:
                    if (h, m, s) >= start:
                        return clock(h, m, s)
        return None

    def next_after(self, moment: datetime) -> datetime:
        """The first query time strictly after ``moment`` (whole seconds, UTC)."""
        start = moment.astimezone(UTC).replace(microsecond=0) + timedelta(seconds=1)
        day, floor = start.date(), start.time()
        for _ in range(_NEVER_DAYS):
            if self._day_matches(day):
                found = self._first_in_day(floor)
                if found is not None:
                    return datetime.combine(day, found, UTC)
            day, floor = day + timedelta(days=1), clock(0, 0, 0)
        raise SubscriptionControlsError("schedule", "no date ever matches it")
