"""Working-time arithmetic for deadlines: working days, working hours, public holidays.

Which days are days off comes from the maintained `holidays` library (Vietnam: Tết, Hùng Kings'
day, 30/4, 1/5, 2/9 and their observed days, plus the Saturdays the government swaps into working
days), corrected by the organisation's own `extra_days_off` and `makeup_working_days`.
The hour arithmetic over the working periods (e.g. 08:00–12:00 and 13:30–17:00) is our own.

Rules (see docs/decisions/0002-working-calendar.md):

- A working period is half-open, [start, end): 17:00 is already after work.
- `add_working_hours` ends exactly at a period's end when the hours run out there, so 3.5 hours
  from 13:30 is 17:00 the same day, not 08:00 the next working day.
- `add_working_days` keeps the time of day. A start outside working time (night, lunch, weekend,
  holiday) first moves to the start of the next working period, then counts whole working days.
- Precedence for a date: extra day off > make-up working day > public holiday > weekday.

Inputs must be timezone-aware (any timezone); every returned datetime is in UTC.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays

from domain.org import Deadlines, WorkingTime
from domain.reports import Urgency

# Guard against a configuration with no working day at all (the loader forbids it, but a
# hand-built WorkingTime could): we never look further than this for the next working day.
_MAX_SEARCH_DAYS = 3 * 366


@dataclass(frozen=True)
class _YearDays:
    days_off: frozenset[date]
    weekend_workdays: frozenset[date]


class WorkingCalendar:
    """Working days and hours of one organisation, in its own timezone."""

    def __init__(self, working_time: WorkingTime | None = None) -> None:
        self.working_time = working_time or WorkingTime()
        if not self.working_time.periods:
            raise ValueError("working time needs at least one working period")
        self.tz = ZoneInfo(self.working_time.timezone)
        self._weekdays = frozenset(self.working_time.weekdays)
        self._extra_off = frozenset(self.working_time.extra_days_off)
        self._makeup = frozenset(self.working_time.makeup_working_days)
        self._periods = tuple(sorted(self.working_time.periods))
        self._years: dict[int, _YearDays] = {}

    # --- days -------------------------------------------------------------------------------

    def is_public_holiday(self, d: date) -> bool:
        return d in self._year(d.year).days_off

    def is_working_day(self, d: date) -> bool:
        if d in self._extra_off:
            return False
        if d in self._makeup or self._is_library_workday(d):
            return True
        return d.weekday() in self._weekdays and not self.is_public_holiday(d)

    def next_working_day_start(self, after: datetime) -> datetime:
        """The start of the first working day that begins strictly after `after` (UTC)."""
        day = self._local(after).date()
        for _ in range(_MAX_SEARCH_DAYS):
            if self.is_working_day(day):
                start = self._at(day, 0)
                if start > after:
                    return start
            day += timedelta(days=1)
        raise ValueError("no working day found: check weekdays and days off")

    def next_working_time(self, at: datetime) -> datetime:
        """`at` itself if it falls inside working time, else the next period start (UTC)."""
        return next(self._intervals_from(at))[0]

    # --- arithmetic -------------------------------------------------------------------------

    def add_working_hours(self, start: datetime, hours: float) -> datetime:
        """`start` plus `hours` counted only inside working periods of working days (UTC)."""
        if hours < 0:
            raise ValueError("hours must not be negative")
        remaining = timedelta(hours=hours)
        for begin, end in self._intervals_from(start):
            if remaining <= end - begin:
                return begin + remaining
            remaining -= end - begin
        raise AssertionError("unreachable: the interval generator never ends")

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """The same local time of day `days` working days later (UTC).

        A start outside working time counts from the start of the next working period.
        """
        if days < 0:
            raise ValueError("days must not be negative")
        anchor = self._local(self.next_working_time(start))
        day = anchor.date()
        for _ in range(days):
            day = self._next_working_day(day)
        local = datetime.combine(day, anchor.time(), tzinfo=self.tz)
        return local.astimezone(UTC)

    def working_time_between(self, start: datetime, end: datetime) -> timedelta:
        """How much working time lies between two moments (zero if `end` is not later)."""
        total = timedelta(0)
        if end <= start:
            return total
        for begin, stop in self._intervals_from(start):
            if begin >= end:
                return total
            total += min(stop, end) - begin
        raise AssertionError("unreachable: the interval generator never ends")

    # --- internals --------------------------------------------------------------------------

    def _local(self, moment: datetime) -> datetime:
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError("datetimes must be timezone-aware")
        return moment.astimezone(self.tz)

    def _at(self, day: date, period: int, edge: int = 0) -> datetime:
        local = datetime.combine(day, self._periods[period][edge], tzinfo=self.tz)
        return local.astimezone(UTC)

    def _next_working_day(self, day: date) -> date:
        for _ in range(_MAX_SEARCH_DAYS):
            day += timedelta(days=1)
            if self.is_working_day(day):
                return day
        raise ValueError("no working day found: check weekdays and days off")

    def _intervals_from(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Working intervals in UTC, in order, clipped so none begins before `start`."""
        start = self._local(start).astimezone(UTC)
        day = self._local(start).date()
        if not self.is_working_day(day):
            day = self._next_working_day(day)
        while True:
            for index in range(len(self._periods)):
                begin, end = self._at(day, index), self._at(day, index, 1)
                if end > start:
                    yield max(begin, start), end
            day = self._next_working_day(day)

    def _year(self, year: int) -> _YearDays:
        cached = self._years.get(year)
        if cached is None:
            cached = self._years[year] = self._load_year(year)
        return cached

    def _load_year(self, year: int) -> _YearDays:
        code = self.working_time.country_holidays
        if code is None:
            return _YearDays(frozenset(), frozenset())
        public = holidays.country_holidays(code, years=year)
        # `weekend_workdays` (documented: "working days moved to weekends") holds the Saturdays
        # the government swaps into working days, e.g. Sat 22 Aug 2026 for Mon 31 Aug 2026.
        return _YearDays(frozenset(public.keys()), frozenset(public.weekend_workdays))

    def _is_library_workday(self, d: date) -> bool:
        # A swapped Saturday can belong to the next year's substitution (worked in December
        # for a day off on 2 January), so both years are asked.
        return any(d in self._year(y).weekend_workdays for y in (d.year, d.year + 1))


def acknowledge_deadline(
    created_at: datetime,
    urgency: Urgency,
    deadlines: Deadlines,
    calendar: WorkingCalendar,
) -> datetime:
    """When the board must acknowledge a report: hot news in clock hours, else working hours."""
    if urgency is Urgency.HOT:
        if created_at.utcoffset() is None:
            raise ValueError("datetimes must be timezone-aware")
        delay = timedelta(hours=deadlines.hot_acknowledge_clock_hours)
        return created_at.astimezone(UTC) + delay
    return calendar.add_working_hours(created_at, deadlines.acknowledge_working_hours)


def answer_deadline(
    start: datetime,
    urgency: Urgency,
    complex: bool,
    deadlines: Deadlines,
    calendar: WorkingCalendar,
) -> datetime:
    """When the handling unit must answer: urgent (and hot) first, then complex, else normal."""
    if urgency in (Urgency.URGENT, Urgency.HOT):
        days = deadlines.urgent_working_days
    elif complex:
        days = deadlines.complex_working_days
    else:
        days = deadlines.normal_working_days
    return calendar.add_working_days(start, days)
