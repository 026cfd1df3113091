"""The case lifecycle of DESIGN §3: which action moves a case from which status, for whom.

Every change of a case goes through `plan`, which refuses anything not in the table; the
storage applies it only if the case is still in the status it was read in (so two officers
pressing Assign at once: one wins, the other is told it was already handled).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from domain.people import Role
from domain.reports import ReportStatus as S


class Action(StrEnum):
    ASSIGN = "assign"
    HANDLE_DIRECTLY = "direct"
    REJECT = "reject"
    MARK_DUPLICATE = "duplicate"
    ACCEPT_CASE = "accept"  # the handler takes the assigned case on
    NOTE_PROGRESS = "note"
    ANSWER = "answer"
    ASK_REASSIGN = "reassign"
    ACCEPT_ANSWER = "approve"
    SEND_BACK = "sendback"
    REQUEST_EXTENSION = "extend"  # the unit asks for more time, with a reason
    GRANT_EXTENSION = "grant"
    REFUSE_EXTENSION = "refuse"
    CONFIRM_FIXED = "fixed"  # the reporter: really fixed
    REPORT_NOT_FIXED = "notfixed"  # the reporter: not yet
    NOT_SURE = "unsure"  # the reporter: does not know


@dataclass(frozen=True)
class Transition:
    action: Action
    sources: frozenset[S]
    target: S | None  # None: the status stays (a progress note)
    roles: frozenset[Role]


_BOARD = frozenset({Role.BOARD})
_HANDLER = frozenset({Role.HANDLER})
_BOTH = frozenset({Role.BOARD, Role.HANDLER})
_NEW = frozenset({S.SUBMITTED, S.ACKNOWLEDGED, S.REOPENED})

# An accepted answer is checked with the reporter before the case closes ("is it really fixed?").
RESOLVED_STATUS = S.VERIFYING
_REPORTER = frozenset({Role.COLLABORATOR})

_UNIT_WORK = frozenset({S.ASSIGNED, S.IN_PROGRESS})

# An action may appear once per role, with the statuses it applies to for that role: a unit
# answers its own cases, the board answers the cases it took over.
TRANSITIONS: tuple[Transition, ...] = (
    Transition(Action.ASSIGN, _NEW, S.ASSIGNED, _BOARD),
    Transition(Action.HANDLE_DIRECTLY, _NEW, S.BOARD_DIRECT, _BOARD),
    Transition(Action.REJECT, _NEW, S.REJECTED, _BOARD),
    Transition(Action.MARK_DUPLICATE, _NEW, S.DUPLICATE, _BOARD),
    Transition(Action.ACCEPT_CASE, frozenset({S.ASSIGNED}), S.IN_PROGRESS, _HANDLER),
    Transition(Action.NOTE_PROGRESS, _UNIT_WORK, None, _HANDLER),
    Transition(Action.NOTE_PROGRESS, frozenset({S.BOARD_DIRECT}), None, _BOARD),
    Transition(Action.ANSWER, _UNIT_WORK, S.ANSWERED, _HANDLER),
    Transition(Action.ANSWER, frozenset({S.BOARD_DIRECT}), S.ANSWERED, _BOARD),
    Transition(Action.ASK_REASSIGN, _UNIT_WORK, S.ACKNOWLEDGED, _HANDLER),
    Transition(Action.ACCEPT_ANSWER, frozenset({S.ANSWERED}), RESOLVED_STATUS, _BOARD),
    Transition(Action.SEND_BACK, frozenset({S.ANSWERED}), S.IN_PROGRESS, _BOARD),
    Transition(Action.REQUEST_EXTENSION, _UNIT_WORK, None, _HANDLER),
    Transition(Action.GRANT_EXTENSION, _UNIT_WORK, None, _BOARD),
    Transition(Action.REFUSE_EXTENSION, _UNIT_WORK, None, _BOARD),
    # Only the case's own reporter (checked by the caller): `can_see` is for staff.
    Transition(Action.CONFIRM_FIXED, frozenset({S.VERIFYING}), S.CLOSED, _REPORTER),
    Transition(Action.REPORT_NOT_FIXED, frozenset({S.VERIFYING}), S.REOPENED, _REPORTER),
    Transition(Action.NOT_SURE, frozenset({S.VERIFYING}), S.CLOSED, _REPORTER),
)

VERIFICATION_ACTIONS = frozenset({Action.CONFIRM_FIXED, Action.REPORT_NOT_FIXED, Action.NOT_SURE})
# Timeline notes that the monthly review counts (docs/monthly-review.md).
NOTE_VERIFIED = "verified"
NOTE_UNSURE = "unsure"
NOTE_NOT_VERIFIED = "not_verified"

# Actions after which the case no longer belongs to a unit.
LEAVES_UNIT = frozenset({Action.ASK_REASSIGN, Action.HANDLE_DIRECTLY})


def target_status(transition: Transition, current: S, board_direct: bool) -> S:
    """Where the case goes: a sent-back answer of a case the board handles goes back to it."""
    if transition.action is Action.SEND_BACK and board_direct:
        return S.BOARD_DIRECT
    return transition.target or current


OPEN_STATUSES = frozenset(
    {
        S.SUBMITTED,
        S.ACKNOWLEDGED,
        S.ASSIGNED,
        S.IN_PROGRESS,
        S.ANSWERED,
        S.BOARD_DIRECT,
        S.REOPENED,
        S.VERIFYING,
    }
)


class Refusal(StrEnum):
    NOT_ALLOWED = "not_allowed"  # this role never takes this action
    NOT_YOUR_UNIT = "not_your_unit"  # a handler acting on another unit's case
    WRONG_STATUS = "wrong_status"  # the case is not (or no longer) where the action applies


@dataclass(frozen=True)
class Decision:
    transition: Transition | None
    refusal: Refusal | None

    @property
    def allowed(self) -> bool:
        return self.refusal is None


def plan(
    action: Action, status: S, role: Role, actor_unit: str | None, case_unit: str | None
) -> Decision:
    """Whether `role` (of `actor_unit`) may take `action` on a case in `status` of `case_unit`."""
    mine = [t for t in TRANSITIONS if t.action is action and role in t.roles]
    if not mine:
        return Decision(None, Refusal.NOT_ALLOWED)
    if role is Role.HANDLER and (case_unit is None or actor_unit != case_unit):
        return Decision(None, Refusal.NOT_YOUR_UNIT)
    applicable = next((t for t in mine if status in t.sources), None)
    if applicable is None:
        return Decision(None, Refusal.WRONG_STATUS)
    return Decision(applicable, None)


def verification_note(action: Action) -> str:
    return {Action.CONFIRM_FIXED: NOTE_VERIFIED, Action.NOT_SURE: NOTE_UNSURE}.get(action, "")


def can_see(role: Role, actor_unit: str | None, case_unit: str | None) -> bool:
    """Board officers see every case; a handler only their unit's; nobody else any."""
    if role is Role.BOARD:
        return True
    return role is Role.HANDLER and case_unit is not None and actor_unit == case_unit
