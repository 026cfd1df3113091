"""The monthly review of DESIGN §6: its figures as plain data, and the arithmetic on them.

The figures are computed by `storage.review.monthly_figures` (SQL aggregates); this module holds
what needs no database: the month's bounds in the organisation's time zone, percentages (one
decimal, half up), the median, and the derived percentages of `MonthlyFigures`.
docs/monthly-review.md defines every figure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from zoneinfo import ZoneInfo

from domain.reports import ReportStatus, Urgency


class Verification(StrEnum):
    """What a case's verification came to (its last answer), if it got one.

    Read from the timeline notes of domain.lifecycle (NOTE_VERIFIED, NOTE_UNSURE,
    NOTE_NOT_VERIFIED) on `verifying -> closed`, and from `verifying -> reopened`.
    """

    FIXED = "fixed"  # verifying -> closed, note "verified"
    NOT_FIXED = "not_fixed"  # verifying -> reopened, and never confirmed fixed afterwards
    UNSURE = "unsure"  # verifying -> closed, note "unsure": the reporter did not know
    SILENT = "silent"  # verifying -> closed, note "not_verified" (counted apart)


class DeadlineKind(StrEnum):
    ACKNOWLEDGE = "acknowledge"
    ANSWER = "answer"


@dataclass(frozen=True)
class CaseLine:
    """One report of the month's cohort, as the case list shows it."""

    code: str
    category_code: str
    ward_code: str
    status: ReportStatus
    urgency: Urgency
    board_direct: bool
    created_at: datetime
    assigned_unit_code: str | None
    answer_deadline: datetime | None
    resolved_at: datetime | None
    first_answered_at: datetime | None
    sent_back: bool
    reopened: bool
    verification: Verification | None

    @property
    def resolved(self) -> bool:
        """As the month's figure counts it: the board accepted the answer (the reporter may
        still be asked whether it is really fixed)."""
        return self.status in (ReportStatus.CLOSED, ReportStatus.VERIFYING)

    @property
    def on_time(self) -> bool | None:
        """For a resolved case: resolved by its answer deadline (no deadline counts as on time)."""
        if not self.resolved or self.resolved_at is None:
            return None
        return self.answer_deadline is None or self.resolved_at <= self.answer_deadline

    @property
    def days_to_answer(self) -> float | None:
        if self.first_answered_at is None:
            return None
        return days_between(self.created_at, self.first_answered_at)


@dataclass(frozen=True)
class OverdueCase:
    """An open case whose running deadline has passed (any month), and by how much."""

    code: str
    category_code: str
    ward_code: str
    status: ReportStatus
    urgency: Urgency
    assigned_unit_code: str | None
    created_at: datetime
    deadline_kind: DeadlineKind
    due: datetime
    late: timedelta


@dataclass(frozen=True)
class MonthlyFigures:
    """Every figure of one month's review; the cohort is the reports created in `month`."""

    month: date  # the first day of the month
    timezone: str
    start: datetime  # the cohort's bounds in UTC: start <= created_at < end
    end: datetime
    generated_at: datetime
    total: int
    by_category: dict[str, int]
    by_ward: dict[str, int]
    by_status: dict[str, int]
    resolved: int
    resolved_on_time: int
    resolved_first_time: int
    board_direct: int
    reopened: int
    verified_fixed: int
    verification_answered: int
    hot: int
    median_days_to_answer: float | None
    cases: list[CaseLine] = field(default_factory=list)
    overdue: list[OverdueCase] = field(default_factory=list)

    @property
    def resolved_pct(self) -> float | None:
        return percent(self.resolved, self.total)

    @property
    def resolved_on_time_pct(self) -> float | None:
        return percent(self.resolved_on_time, self.resolved)

    @property
    def resolved_first_time_pct(self) -> float | None:
        return percent(self.resolved_first_time, self.resolved)

    @property
    def verified_fixed_pct(self) -> float | None:
        return percent(self.verified_fixed, self.verification_answered)

    @property
    def hot_cases(self) -> list[CaseLine]:
        return [case for case in self.cases if case.urgency is Urgency.HOT]

    @property
    def label(self) -> str:
        return month_label(self.month)


# --- arithmetic ---------------------------------------------------------------------------------
def round_half_up(value: float, places: int = 1) -> float:
    """93.93939 -> 93.9, 2.75 -> 2.8 (not banker's rounding, which would give 2.8 or 2.7)."""
    quantum = Decimal(1).scaleb(-places)
    return float(Decimal(repr(value)).quantize(quantum, rounding=ROUND_HALF_UP))


def percent(part: int, whole: int) -> float | None:
    """`part` of `whole` in per cent with one decimal; None (shown as "—") when `whole` is 0."""
    if whole <= 0:
        return None
    return round_half_up(100 * part / whole)


def median(values: Iterable[float]) -> float | None:
    """The middle value (the mean of the two middle ones for an even count); None if empty."""
    ordered = sorted(values)
    if not ordered:
        return None
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def days_between(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 86400


def median_days(cases: Iterable[CaseLine]) -> float | None:
    """Median days from filing to the first answer, one decimal, over the answered cases."""
    found = median(d for d in (c.days_to_answer for c in cases) if d is not None)
    return None if found is None else round_half_up(found)


# --- the month --------------------------------------------------------------------------------
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")


def parse_month(text: str) -> date:
    """`2026-10` -> date(2026, 10, 1); ValueError otherwise."""
    match = _MONTH.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not a month like 2026-10")
    year, month = int(match.group(1)), int(match.group(2))
    if not 1 <= month <= 12:
        raise ValueError(f"{text!r}: the month must be between 01 and 12")
    if not 2000 <= year <= 2999:
        raise ValueError(f"{text!r}: the year must be between 2000 and 2999")
    return date(year, month, 1)


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def previous_month(month: date) -> date:
    return date(month.year - (month.month == 1), (month.month - 2) % 12 + 1, 1)


def month_label(month: date) -> str:
    return f"{month.year:04d}-{month.month:02d}"


def month_bounds(month: date, timezone: str) -> tuple[datetime, datetime]:
    """The UTC moments between which (start inclusive, end exclusive) the month runs locally."""
    zone = ZoneInfo(timezone)
    first = month.replace(day=1)
    start = datetime(first.year, first.month, 1, tzinfo=zone)
    after = next_month(first)
    end = datetime(after.year, after.month, 1, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)
