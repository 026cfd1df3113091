"""The organisation a deployment serves: units, categories, deadlines and working time.

Loaded from YAML by `bot.org_loader`; these types carry no parsing logic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time
from enum import StrEnum


class UnitKind(StrEnum):
    DISTRICT = "district"
    BOARD = "board"
    WARD = "ward"
    DEPARTMENT = "department"
    MASS_ORGANISATION = "mass_organisation"
    SUPERVISOR = "supervisor"


# A category routed to this pseudo-unit goes to the People's Committee of the report's ward.
ROUTE_TO_WARD = "ward"


@dataclass(frozen=True)
class Unit:
    code: str
    name: str
    kind: UnitKind
    parent: str | None = None
    short_name: str | None = None

    @property
    def label(self) -> str:
        return self.short_name or self.name


@dataclass(frozen=True)
class Category:
    code: str
    name: str
    routes_to: str = ROUTE_TO_WARD
    complex: bool = False


@dataclass(frozen=True)
class Deadlines:
    acknowledge_working_hours: float = 8
    hot_acknowledge_clock_hours: float = 1
    urgent_working_days: int = 1
    normal_working_days: int = 3
    complex_working_days: int = 10
    verification_working_days: int = 2
    # A case waiting for the reporter's "is it really fixed?" closes as not verified after this.
    verification_answer_working_days: int = 5
    # Also ask one other collaborator of the same ward (who did not report it).
    verification_second_opinion: bool = False
    # The escalation ladder (docs/escalation.md): a reminder at this fraction of the working time
    # between assignment and the answer deadline, then the board and the board's leader this many
    # working days after the deadline; an unacknowledged report reaches the leader this many
    # working days after its acknowledge deadline.
    reminder_fraction: float = 0.75
    board_after_working_days: int = 1
    leader_after_working_days: int = 3
    ack_leader_after_working_days: int = 1


@dataclass(frozen=True)
class WorkingTime:
    timezone: str = "Asia/Ho_Chi_Minh"
    weekdays: tuple[int, ...] = (0, 1, 2, 3, 4)
    periods: tuple[tuple[time, time], ...] = (
        (time(8, 0), time(12, 0)),
        (time(13, 30), time(17, 0)),
    )
    country_holidays: str | None = "VN"
    extra_days_off: tuple[date, ...] = ()
    makeup_working_days: tuple[date, ...] = ()


@dataclass(frozen=True)
class OrgConfig:
    name: str
    units: tuple[Unit, ...]
    categories: tuple[Category, ...]
    deadlines: Deadlines = field(default_factory=Deadlines)
    working_time: WorkingTime = field(default_factory=WorkingTime)

    def unit(self, code: str) -> Unit | None:
        return next((u for u in self.units if u.code == code), None)

    def category(self, code: str) -> Category | None:
        return next((c for c in self.categories if c.code == code), None)

    @property
    def wards(self) -> tuple[Unit, ...]:
        return tuple(u for u in self.units if u.kind is UnitKind.WARD)
