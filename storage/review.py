"""The monthly review's one query layer: a month's figures by SQL aggregates (SQLite, PostgreSQL).

Four statements, whatever the number of stored reports:

1. the cohort's counts, `GROUP BY category, ward, status` (at most categories x wards x
   statuses rows), with `SUM(CASE ...)` for board-direct, hot and resolved-on-time;
2. the cohort's timeline figures: the events of the cohort's reports reduced to one row per case
   (`GROUP BY report_id`) and summed (reopened, sent back, verification);
3. the case list: the cohort's reports with their per-case timeline facts;
4. the overdue list: open cases (any month) whose running deadline has passed.

The cohort is found through `ix_reports_created_at` (a range on `created_at`, whose bounds are
the month's local midnights in UTC), its events through `ix_report_events_report_id`, the open
cases through `ix_reports_status`. Definitions: docs/monthly-review.md.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Executable, and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.lifecycle import NOTE_NOT_VERIFIED, NOTE_UNSURE, NOTE_VERIFIED, OPEN_STATUSES
from domain.org import WorkingTime
from domain.reports import ReportStatus as S
from domain.reports import Urgency
from domain.review import (
    CaseLine,
    DeadlineKind,
    MonthlyFigures,
    OverdueCase,
    Verification,
    days_between,
    median,
    median_days,
    month_bounds,
    round_half_up,
)
from storage.inline_sqlite import OpenConnection
from storage.models import ReportEventRow, ReportRow
from storage.repositories.base import ConnectionSource

DEFAULT_TIMEZONE = WorkingTime().timezone
R, E = ReportRow, ReportEventRow
# Enum lookups by value, cheaper than calling the enum once per row of a long case list.
_STATUS = {status.value: status for status in S}
_URGENCY = {urgency.value: urgency for urgency in Urgency}


def _flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    """1 where `condition` holds, else 0 (portable: no FILTER, no boolean arithmetic)."""
    return case((condition, 1), else_=0)


def _total(condition: ColumnElement[bool]) -> ColumnElement[int]:
    """How many rows `condition` holds for (0 when there are no rows)."""
    return func.coalesce(func.sum(_flag(condition)), 0)


def _cohort(start: datetime, end: datetime) -> ColumnElement[bool]:
    return and_(R.created_at >= start, R.created_at < end)


# Resolved: the board accepted the answer (the reporter may still be asked "is it really fixed?").
_RESOLVED_STATUSES = (S.CLOSED.value, S.VERIFYING.value)
_CLOSED = R.status.in_(_RESOLVED_STATUSES)
_ON_TIME = and_(_CLOSED, or_(R.answer_deadline.is_(None), R.resolved_at <= R.answer_deadline))
_FROM_VERIFYING = E.from_status == S.VERIFYING.value
_TO_CLOSED = E.to_status == S.CLOSED.value
_FIXED = and_(_FROM_VERIFYING, _TO_CLOSED, E.note == NOTE_VERIFIED)
_NOT_FIXED = and_(_FROM_VERIFYING, E.to_status == S.REOPENED.value)


def _timeline(start: datetime, end: datetime) -> Any:
    """One row per cohort case that has events: its timeline facts (0/1 flags, first answer)."""
    return (
        select(
            E.report_id.label("report_id"),
            # Sent back to the unit (in progress again), or to the board that handles it.
            func.max(_flag(and_(E.from_status == S.ANSWERED.value, E.to_status.in_(
                (S.IN_PROGRESS.value, S.BOARD_DIRECT.value))))).label("sent_back"),
            func.max(_flag(E.to_status == S.REOPENED.value)).label("reopened"),
            func.max(_flag(_FIXED)).label("fixed"),
            func.max(_flag(_NOT_FIXED)).label("not_fixed"),
            func.max(_flag(and_(_FROM_VERIFYING, _TO_CLOSED, E.note == NOTE_NOT_VERIFIED)))
            .label("silent"),
            func.max(_flag(and_(_FROM_VERIFYING, _TO_CLOSED, E.note == NOTE_UNSURE)))
            .label("unsure"),
            func.min(case((E.to_status == S.ANSWERED.value, E.at))).label("first_answered_at"),
            func.max(_flag(_CLOSED)).label("closed"),
        )
        .join(R, R.id == E.report_id)
        .where(_cohort(start, end))
        .group_by(E.report_id)
        .subquery("timeline")
    )


def _breakdown(start: datetime, end: datetime) -> Executable:
    return (
        select(
            R.category_code, R.ward_code, R.status,
            func.count().label("reports"),
            func.sum(_flag(R.board_direct.is_(True))).label("board_direct"),
            func.sum(_flag(R.urgency == Urgency.HOT.value)).label("hot"),
            func.sum(_flag(_ON_TIME)).label("on_time"),
        )
        .where(_cohort(start, end))
        .group_by(R.category_code, R.ward_code, R.status)
    )


def _timeline_totals(start: datetime, end: datetime) -> Executable:
    t = _timeline(start, end)
    not_first_time = and_(t.c.closed == 1, or_(t.c.sent_back == 1, t.c.reopened == 1))
    return select(
        _total(t.c.reopened == 1).label("reopened"),
        _total(t.c.fixed == 1).label("fixed"),
        _total(or_(t.c.fixed == 1, t.c.not_fixed == 1)).label("answered_verification"),
        _total(not_first_time).label("resolved_not_first_time"),
    )


def _case_list(start: datetime, end: datetime) -> Executable:
    t = _timeline(start, end)
    return (
        select(
            R.code, R.category_code, R.ward_code, R.status, R.urgency, R.board_direct,
            R.created_at, R.assigned_unit_code, R.answer_deadline, R.resolved_at,
            t.c.first_answered_at, t.c.sent_back, t.c.reopened, t.c.fixed, t.c.not_fixed,
            t.c.silent, t.c.unsure,
        )
        .outerjoin(t, t.c.report_id == R.id)
        .where(_cohort(start, end))
        .order_by(R.created_at, R.id)
    )


_OPEN = R.status.in_(sorted(s.value for s in OPEN_STATUSES))
_running_deadline = case(
    (R.answer_deadline.is_not(None), R.answer_deadline),
    (R.acknowledged_at.is_(None), R.acknowledge_deadline),
)


def _overdue(now: datetime) -> Executable:
    # The deadline is compared as an expression on purpose: no index on a deadline column
    # matches it, so the open cases are found through ix_reports_status (they are few), not by
    # walking every past deadline (nearly every stored report has one).
    return (
        select(
            R.code, R.category_code, R.ward_code, R.status, R.urgency, R.assigned_unit_code,
            R.created_at, R.answer_deadline, R.acknowledge_deadline,
        )
        .where(_OPEN, _running_deadline < now)
        .order_by(_running_deadline, R.id)
    )


def _verification(row: Any) -> Verification | None:
    # Closing ends a case, so a "fixed" or "silent" answer is always its last one.
    if row.fixed:
        return Verification.FIXED
    if row.silent:
        return Verification.SILENT
    if row.unsure:
        return Verification.UNSURE
    if row.not_fixed:
        return Verification.NOT_FIXED
    return None


def _case_line(row: Any) -> CaseLine:
    return CaseLine(
        code=row.code, category_code=row.category_code, ward_code=row.ward_code,
        status=_STATUS[row.status], urgency=_URGENCY[row.urgency],
        board_direct=bool(row.board_direct),
        created_at=row.created_at, assigned_unit_code=row.assigned_unit_code,
        answer_deadline=row.answer_deadline, resolved_at=row.resolved_at,
        first_answered_at=row.first_answered_at, sent_back=bool(row.sent_back),
        reopened=bool(row.reopened), verification=_verification(row),
    )


def _overdue_case(row: Any, now: datetime) -> OverdueCase:
    if row.answer_deadline is not None:
        kind, due = DeadlineKind.ANSWER, row.answer_deadline
    else:
        kind, due = DeadlineKind.ACKNOWLEDGE, row.acknowledge_deadline
    return OverdueCase(
        code=row.code, category_code=row.category_code, ward_code=row.ward_code,
        status=_STATUS[row.status], urgency=_URGENCY[row.urgency],
        assigned_unit_code=row.assigned_unit_code, created_at=row.created_at,
        deadline_kind=kind, due=due, late=now - due,
    )


def _add(counts: dict[str, int], key: str, value: int) -> None:
    counts[key] = counts.get(key, 0) + value


def _by_count(counts: dict[str, int]) -> dict[str, int]:
    """Largest first, then by code: the order the tables and the chart show."""
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


async def monthly_figures(
    source: AsyncConnection | ConnectionSource, month: date, now: datetime,
    timezone: str = DEFAULT_TIMEZONE, *, with_cases: bool = True,
) -> MonthlyFigures:
    """The review of the reports created in `month` (local calendar month of `timezone`).

    `source` is an open connection or an open unit of work (`storage.uow.SqlUnitOfWork`); only
    reads. `now` decides the overdue list. `with_cases=False` skips loading the case list (the
    median of days to answer then needs it anyway, so it is computed from a lean query).
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    connection = source if isinstance(source, AsyncConnection) else source.connection
    start, end = month_bounds(month, timezone)
    by_category: dict[str, int] = {}
    by_ward: dict[str, int] = {}
    by_status: dict[str, int] = {}
    total = board_direct = hot = on_time = 0
    for row in (await connection.execute(_breakdown(start, end))).all():
        count = int(row.reports)
        _add(by_category, row.category_code, count)
        _add(by_ward, row.ward_code, count)
        _add(by_status, row.status, count)
        total += count
        board_direct += int(row.board_direct or 0)
        hot += int(row.hot or 0)
        on_time += int(row.on_time or 0)
    resolved = sum(by_status.get(status, 0) for status in _RESOLVED_STATUSES)
    timeline = (await connection.execute(_timeline_totals(start, end))).one()
    cases = await _cases(connection, start, end) if with_cases else []
    middle = median_days(cases) if with_cases else await _median_only(connection, start, end)
    overdue = [_overdue_case(r, now) for r in (await connection.execute(_overdue(now))).all()]
    return MonthlyFigures(
        month=month.replace(day=1), timezone=timezone, start=start, end=end, generated_at=now,
        total=total, by_category=_by_count(by_category), by_ward=_by_count(by_ward),
        by_status=_by_count(by_status), resolved=resolved, resolved_on_time=on_time,
        resolved_first_time=resolved - int(timeline.resolved_not_first_time),
        board_direct=board_direct, reopened=int(timeline.reopened),
        verified_fixed=int(timeline.fixed),
        verification_answered=int(timeline.answered_verification), hot=hot,
        median_days_to_answer=middle, cases=cases, overdue=overdue,
    )


async def _cases(connection: OpenConnection, start: datetime, end: datetime) -> list[CaseLine]:
    return [_case_line(row) for row in (await connection.execute(_case_list(start, end))).all()]


async def _median_only(
    connection: OpenConnection, start: datetime, end: datetime
) -> float | None:
    t = _timeline(start, end)
    statement = (
        select(R.created_at, t.c.first_answered_at)
        .join(t, t.c.report_id == R.id)
        .where(t.c.first_answered_at.is_not(None))
    )
    rows = (await connection.execute(statement)).all()
    found = median(days_between(row.created_at, row.first_answered_at) for row in rows)
    return None if found is None else round_half_up(found)
