"""The lifecycle table of DESIGN §3, checked for every action, status and role."""

from __future__ import annotations

import itertools

import pytest

from domain.lifecycle import TRANSITIONS, Action, Refusal, can_see, plan, target_status
from domain.people import Role
from domain.reports import ReportStatus as S

NEW = {S.SUBMITTED, S.ACKNOWLEDGED, S.REOPENED}
UNIT = {S.ASSIGNED, S.IN_PROGRESS}
B, H, C = Role.BOARD, Role.HANDLER, Role.COLLABORATOR
# (action, role) -> (statuses it applies to, target); absent: the role never takes the action.
EXPECTED: dict[tuple[Action, Role], tuple[set[S], S | None]] = {
    (Action.ASSIGN, B): (NEW, S.ASSIGNED),
    (Action.HANDLE_DIRECTLY, B): (NEW, S.BOARD_DIRECT),
    (Action.REJECT, B): (NEW, S.REJECTED),
    (Action.MARK_DUPLICATE, B): (NEW, S.DUPLICATE),
    (Action.ACCEPT_CASE, H): ({S.ASSIGNED}, S.IN_PROGRESS),
    (Action.NOTE_PROGRESS, H): (UNIT, None),
    (Action.NOTE_PROGRESS, B): ({S.BOARD_DIRECT}, None),
    (Action.ANSWER, H): (UNIT, S.ANSWERED),
    (Action.ANSWER, B): ({S.BOARD_DIRECT}, S.ANSWERED),
    (Action.ASK_REASSIGN, H): (UNIT, S.ACKNOWLEDGED),
    (Action.ACCEPT_ANSWER, B): ({S.ANSWERED}, S.VERIFYING),
    (Action.SEND_BACK, B): ({S.ANSWERED}, S.IN_PROGRESS),
    (Action.REQUEST_EXTENSION, H): (UNIT, None),
    (Action.GRANT_EXTENSION, B): (UNIT, None),
    (Action.REFUSE_EXTENSION, B): (UNIT, None),
    (Action.CONFIRM_FIXED, C): ({S.VERIFYING}, S.CLOSED),
    (Action.REPORT_NOT_FIXED, C): ({S.VERIFYING}, S.REOPENED),
    (Action.NOT_SURE, C): ({S.VERIFYING}, S.CLOSED),
}


def test_every_action_is_in_the_table() -> None:
    assert {t.action for t in TRANSITIONS} == set(Action) == {a for a, _ in EXPECTED}


@pytest.mark.parametrize(
    ("action", "status", "role"), list(itertools.product(Action, S, Role))
)
def test_each_action_status_and_role(action: Action, status: S, role: Role) -> None:
    decision = plan(action, status, role, actor_unit="bo-de", case_unit="bo-de")
    if (action, role) not in EXPECTED:
        assert decision.refusal is Refusal.NOT_ALLOWED
        return
    sources, target = EXPECTED[(action, role)]
    if status not in sources:
        assert decision.refusal is Refusal.WRONG_STATUS
    else:
        assert decision.allowed and decision.transition is not None
        assert decision.transition.target == target


def test_a_sent_back_board_answer_returns_to_the_board() -> None:
    decision = plan(Action.SEND_BACK, S.ANSWERED, B, "btg", None)
    assert decision.transition is not None
    assert target_status(decision.transition, S.ANSWERED, board_direct=True) is S.BOARD_DIRECT
    assert target_status(decision.transition, S.ANSWERED, board_direct=False) is S.IN_PROGRESS


@pytest.mark.parametrize("action", [a for a, r in EXPECTED if r is H])
def test_a_handler_never_acts_on_another_units_case(action: Action) -> None:
    status = next(iter(EXPECTED[(action, H)][0]))
    refused = plan(action, status, Role.HANDLER, actor_unit="gia-thuy", case_unit="bo-de")
    assert refused.refusal is Refusal.NOT_YOUR_UNIT
    unassigned = plan(action, status, Role.HANDLER, actor_unit="bo-de", case_unit=None)
    assert unassigned.refusal is Refusal.NOT_YOUR_UNIT


def test_who_sees_a_case() -> None:
    assert can_see(Role.BOARD, "btg", None)
    assert can_see(Role.HANDLER, "bo-de", "bo-de")
    assert not can_see(Role.HANDLER, "gia-thuy", "bo-de")
    for role in (Role.COLLABORATOR, Role.RESIDENT, Role.ADMIN):
        assert not can_see(role, "bo-de", "bo-de")
