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

# Accepting an answer closes the case for now; the verification issue will send it to VERIFYING.
RESOLVED_STATUS = S.CLOSED

TRANSITIONS: dict[Action, Transition] = {
    t.action: t
    for t in (
        Transition(Action.ASSIGN, _NEW, S.ASSIGNED, _BOARD),
        Transition(Action.HANDLE_DIRECTLY, _NEW, S.BOARD_DIRECT, _BOARD),
        Transition(Action.REJECT, _NEW, S.REJECTED, _BOARD),
        Transition(Action.MARK_DUPLICATE, _NEW, S.DUPLICATE, _BOARD),
        Transition(Action.ACCEPT_CASE, frozenset({S.ASSIGNED}), S.IN_PROGRESS, _HANDLER),
        Transition(
            Action.NOTE_PROGRESS,
            frozenset({S.ASSIGNED, S.IN_PROGRESS, S.BOARD_DIRECT}),
            None,
            _BOTH,
        ),
        Transition(
            Action.ANSWER,
            frozenset({S.ASSIGNED, S.IN_PROGRESS, S.BOARD_DIRECT}),
            S.ANSWERED,
            _BOTH,
        ),
        Transition(
            Action.ASK_REASSIGN, frozenset({S.ASSIGNED, S.IN_PROGRESS}), S.ACKNOWLEDGED, _HANDLER
        ),
        Transition(Action.ACCEPT_ANSWER, frozenset({S.ANSWERED}), RESOLVED_STATUS, _BOARD),
        Transition(Action.SEND_BACK, frozenset({S.ANSWERED}), S.IN_PROGRESS, _BOARD),
    )
}

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
    transition = TRANSITIONS[action]
    if role not in transition.roles:
        return Decision(None, Refusal.NOT_ALLOWED)
    if role is Role.HANDLER and (case_unit is None or actor_unit != case_unit):
        return Decision(None, Refusal.NOT_YOUR_UNIT)
    if status not in transition.sources:
        return Decision(None, Refusal.WRONG_STATUS)
    return Decision(transition, None)


def can_see(role: Role, actor_unit: str | None, case_unit: str | None) -> bool:
    """Board officers see every case; a handler only their unit's; nobody else any."""
    if role is Role.BOARD:
        return True
    return role is Role.HANDLER and case_unit is not None and actor_unit == case_unit
