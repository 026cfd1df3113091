"""The escalation ladder of one case: which steps, when, and who hears each (pure arithmetic).

A case assigned to a unit (deadline D, set at A): a reminder at `reminder_fraction` of the
working time between A and D, then D itself, then `board_after_working_days` and
`leader_after_working_days` working days after D. A report nobody acknowledged (deadline K):
K, then `ack_leader_after_working_days` working days after K. See docs/escalation.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

from domain.calendar import WorkingCalendar
from domain.org import Deadlines


class Step(StrEnum):
    REMINDER = "reminder"
    DEADLINE = "deadline"
    BOARD = "board"
    LEADER = "leader"
    ACK_BOARD = "ack_board"
    ACK_LEADER = "ack_leader"


class Audience(StrEnum):
    HANDLERS = "handlers"  # the unit's handlers (its head only when there is nobody else)
    UNIT = "unit"  # every handler of the unit, its head included
    BOARD = "board"  # the board's officers (its leader only when there is nobody else)
    LEADER = "leader"  # the board's leader (every officer when no leader is named)


AUDIENCE: Final = {
    Step.REMINDER: Audience.HANDLERS,
    Step.DEADLINE: Audience.UNIT,
    Step.BOARD: Audience.BOARD,
    Step.LEADER: Audience.LEADER,
    Step.ACK_BOARD: Audience.BOARD,
    Step.ACK_LEADER: Audience.LEADER,
}
# The last step of each ladder: a case that took it is never read again for that deadline.
LAST_UNIT_STEP: Final = Step.LEADER
LAST_ACK_STEP: Final = Step.ACK_LEADER


@dataclass(frozen=True)
class Rung:
    step: Step
    at: datetime


def reminder_at(
    assigned_at: datetime | None, deadline: datetime, fraction: float, calendar: WorkingCalendar
) -> datetime | None:
    """`fraction` of the working time from assignment to deadline; None without a span."""
    if assigned_at is None or assigned_at >= deadline:
        return None
    span = calendar.working_time_between(assigned_at, deadline)
    if span <= timedelta(0):
        return None
    hours = span.total_seconds() * fraction / 3600
    return min(calendar.add_working_hours(assigned_at, hours), deadline)


def unit_ladder(
    deadline: datetime, assigned_at: datetime | None, rules: Deadlines, calendar: WorkingCalendar
) -> list[Rung]:
    rungs = []
    reminder = reminder_at(assigned_at, deadline, rules.reminder_fraction, calendar)
    if reminder is not None:
        rungs.append(Rung(Step.REMINDER, reminder))
    rungs += [
        Rung(Step.DEADLINE, deadline),
        Rung(Step.BOARD, calendar.add_working_days(deadline, rules.board_after_working_days)),
        Rung(Step.LEADER, calendar.add_working_days(deadline, rules.leader_after_working_days)),
    ]
    return rungs


def ack_ladder(deadline: datetime, rules: Deadlines, calendar: WorkingCalendar) -> list[Rung]:
    later = calendar.add_working_days(deadline, rules.ack_leader_after_working_days)
    return [Rung(Step.ACK_BOARD, deadline), Rung(Step.ACK_LEADER, later)]


def due_rungs(rungs: list[Rung], fired: frozenset[str], now: datetime) -> list[Rung]:
    """The steps whose time has come and that nobody took yet, in ladder order."""
    return [rung for rung in rungs if rung.at <= now and rung.step.value not in fired]
