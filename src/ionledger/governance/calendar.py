"""Working days, for reporting deadlines: China's calendar, kept as data (data/calendar_cn.toml).

Deadlines in DOMAIN.md are in working days. A working day is Monday to Friday unless the
calendar lists it as a public holiday, plus the weekend days the calendar lists as worked.
"""

from __future__ import annotations

import bisect
import datetime
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

_DAY = datetime.timedelta(days=1)


@dataclass(frozen=True, slots=True)
class WorkCalendar:
    version: int
    holidays: tuple[datetime.date, ...]  # sorted; only those on weekdays change a count
    working_weekends: tuple[datetime.date, ...]  # sorted

    @classmethod
    def of(
        cls, version: int, holidays: set[datetime.date], working_weekends: set[datetime.date]
    ) -> WorkCalendar:
        return cls(version, tuple(sorted(holidays)), tuple(sorted(working_weekends)))

    def is_working_day(self, day: datetime.date) -> bool:
        if _within(self.holidays, day, day):
            return False
        return day.weekday() < 5 or bool(_within(self.working_weekends, day, day))

    def add_working_days(self, start: datetime.date, days: int) -> datetime.date:
        """The day that is ``days`` working days after ``start`` (the stage's day is day 0)."""
        day, left = start, days
        while left > 0:
            day += _DAY
            left -= self.is_working_day(day)
        return day

    def working_days_between(self, start: datetime.date, end: datetime.date) -> int:
        """Working days after ``start`` up to and including ``end`` (0 if end <= start)."""
        if end <= start:
            return 0
        weeks, rest = divmod((end - start).days, 7)
        count = weeks * 5  # every whole week holds five weekdays
        day = start + datetime.timedelta(days=weeks * 7)
        for _ in range(rest):
            day += _DAY
            count += day.weekday() < 5
        lo = start + _DAY
        weekday_holidays = sum(1 for d in _slice(self.holidays, lo, end) if d.weekday() < 5)
        return count - weekday_holidays + _within(self.working_weekends, lo, end)


def _slice(
    days: tuple[datetime.date, ...], lo: datetime.date, hi: datetime.date
) -> tuple[datetime.date, ...]:
    return days[bisect.bisect_left(days, lo) : bisect.bisect_right(days, hi)]


def _within(days: tuple[datetime.date, ...], lo: datetime.date, hi: datetime.date) -> int:
    return bisect.bisect_right(days, hi) - bisect.bisect_left(days, lo)


@cache
def china_calendar() -> WorkCalendar:
    """The packaged calendar (read once)."""
    source = resources.files("ionledger.governance").joinpath("data/calendar_cn.toml")
    data = tomllib.loads(source.read_text(encoding="utf-8"))
    holidays: set[datetime.date] = set()
    worked: set[datetime.date] = set()
    for year in data["years"].values():
        holidays.update(datetime.date.fromisoformat(d) for d in year["holidays"])
        worked.update(datetime.date.fromisoformat(d) for d in year["working_weekends"])
    return WorkCalendar.of(int(data["version"]), holidays, worked)
