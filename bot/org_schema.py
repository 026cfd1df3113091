"""The shapes and values of the org configuration (pydantic v2 models), and their domain form.

Each entry is checked on its own here; what spans several entries is in `bot.org_checks`.
"""

from __future__ import annotations

import re
from datetime import date, time
from typing import Annotated
from zoneinfo import ZoneInfo

import holidays
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from domain.org import (
    ROUTE_TO_WARD,
    Category,
    Deadlines,
    OrgConfig,
    Unit,
    UnitKind,
    WorkingTime,
)

_CODE_RE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_TIME_RE = re.compile(r"([01]?[0-9]|2[0-3]):([0-5][0-9])")
_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _code(value: str) -> str:
    if not _CODE_RE.fullmatch(value) or len(value) > 32:
        raise ValueError(
            f'code "{value}" must be lowercase ASCII letters, digits and hyphens '
            '(at most 32), e.g. "bo-de"'
        )
    return value


def _hhmm(value: object) -> time:
    if isinstance(value, time):
        return value
    match = _TIME_RE.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f'{value!r} is not a time: write "HH:MM" (24 h), e.g. "08:00"')
    return time(int(match.group(1)), int(match.group(2)))


def _iso_date(value: object) -> date:
    if isinstance(value, str) and _DATE_RE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError as exc:
            raise ValueError(f"{value} is not a valid date: {exc}") from None
    raise ValueError(f"{value!r} is not a date: write YYYY-MM-DD, e.g. 2027-02-11")


def _weekday(value: int) -> int:
    if not 0 <= value <= 6:
        raise ValueError(f"weekday {value} is not between 0 (Monday) and 6 (Sunday)")
    return value


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (KeyError, ValueError, OSError):  # ZoneInfoNotFoundError is a KeyError
        raise ValueError(_tz_message(value)) from None
    return value


def _tz_message(value: str) -> str:
    return f'unknown timezone "{value}": use an IANA name such as "Asia/Ho_Chi_Minh"'


def _country(value: str) -> str:
    if value not in holidays.list_supported_countries():
        raise ValueError(
            f'the holidays library knows no country "{value}": use an ISO code such as "VN", '
            "or null for no public holidays"
        )
    return value


_Code = Annotated[str, AfterValidator(_code)]
_Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
_Time = Annotated[time, BeforeValidator(_hhmm)]
_Date = Annotated[date, BeforeValidator(_iso_date)]
_Weekday = Annotated[int, AfterValidator(_weekday)]
# Deadlines within reason: a finite number of hours or days the calendar can count through.
_Hours = Annotated[float, Field(gt=0, le=2000, allow_inf_nan=False)]
_Days = Annotated[int, Field(gt=0, le=365)]

_DEADLINES = Deadlines()
_WORKING_TIME = WorkingTime()


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class UnitModel(_Model):
    code: _Code
    name: _Text
    kind: UnitKind
    parent: str | None = None
    short_name: _Text | None = None


class CategoryModel(_Model):
    code: _Code
    name: _Text
    routes_to: str = ROUTE_TO_WARD
    complex: bool = False


class DeadlinesModel(_Model):
    acknowledge_working_hours: _Hours = _DEADLINES.acknowledge_working_hours
    hot_acknowledge_clock_hours: _Hours = _DEADLINES.hot_acknowledge_clock_hours
    urgent_working_days: _Days = _DEADLINES.urgent_working_days
    normal_working_days: _Days = _DEADLINES.normal_working_days
    complex_working_days: _Days = _DEADLINES.complex_working_days
    verification_working_days: _Days = _DEADLINES.verification_working_days
    verification_answer_working_days: _Days = _DEADLINES.verification_answer_working_days
    verification_second_opinion: bool = _DEADLINES.verification_second_opinion
    reminder_fraction: float = Field(_DEADLINES.reminder_fraction, gt=0, lt=1)
    board_after_working_days: _Days = _DEADLINES.board_after_working_days
    leader_after_working_days: _Days = _DEADLINES.leader_after_working_days
    ack_leader_after_working_days: _Days = _DEADLINES.ack_leader_after_working_days


class PeriodModel(_Model):
    start: _Time
    end: _Time

    @model_validator(mode="after")
    def _starts_before_end(self) -> PeriodModel:
        if self.start >= self.end:
            raise ValueError(f"the period must start before it ends ({span(self)})")
        return self


def _default_periods() -> list[PeriodModel]:
    return [PeriodModel(start=s, end=e) for s, e in _WORKING_TIME.periods]


class WorkingTimeModel(_Model):
    timezone: Annotated[str, AfterValidator(_timezone)] = _WORKING_TIME.timezone
    weekdays: list[_Weekday] = Field(default=list(_WORKING_TIME.weekdays), min_length=1)
    periods: list[PeriodModel] = Field(default_factory=_default_periods, min_length=1)
    country_holidays: Annotated[str, AfterValidator(_country)] | None = (
        _WORKING_TIME.country_holidays
    )
    extra_days_off: list[_Date] = Field(default_factory=list)
    makeup_working_days: list[_Date] = Field(default_factory=list)


class OrgModel(_Model):
    name: _Text
    units: list[UnitModel] = Field(min_length=1)
    categories: list[CategoryModel] = Field(min_length=1)
    deadlines: DeadlinesModel = Field(default_factory=DeadlinesModel)
    working_time: WorkingTimeModel = Field(default_factory=WorkingTimeModel)


_MODELS: tuple[type[_Model], ...] = (
    OrgModel,
    UnitModel,
    CategoryModel,
    DeadlinesModel,
    WorkingTimeModel,
    PeriodModel,
)
KNOWN_KEYS = sorted({name for model in _MODELS for name in model.model_fields})
"""Every key the format knows, for "did you mean" hints."""


def span(period: PeriodModel) -> str:
    return f"{period.start:%H:%M}–{period.end:%H:%M}"


def to_domain(model: OrgModel) -> OrgConfig:
    wt = model.working_time
    return OrgConfig(
        name=model.name,
        units=tuple(
            Unit(u.code, u.name, u.kind, parent=u.parent, short_name=u.short_name)
            for u in model.units
        ),
        categories=tuple(
            Category(c.code, c.name, routes_to=c.routes_to, complex=c.complex)
            for c in model.categories
        ),
        deadlines=Deadlines(**model.deadlines.model_dump()),
        working_time=WorkingTime(
            timezone=wt.timezone,
            weekdays=tuple(sorted(wt.weekdays)),
            periods=tuple(sorted((p.start, p.end) for p in wt.periods)),
            country_holidays=wt.country_holidays,
            extra_days_off=tuple(sorted(wt.extra_days_off)),
            makeup_working_days=tuple(sorted(wt.makeup_working_days)),
        ),
    )
