"""The lifecycle table of DESIGN §3, checked for every action, status and role."""

from __future__ import annotations

import itertools

import pytest

from domain.lifecycle import TRANSITIONS, Action, Refusal, can_see, plan
from domain.people import Role
from domain.reports import ReportStatus as S

NEW = {S.SUBMITTED, S.ACKNOWLEDGED, S.REOPENED}
EXPECTED: dict[Action, tuple[set[S], S | None, set[Role]]] = {
    Action.ASSIGN: (NEW, S.ASSIGNED, {Role.BOARD}),
    Action.HANDLE_DIRECTLY: (NEW, S.BOARD_DIRECT, {Role.BOARD}),
    Action.REJECT: (NEW, S.REJECTED, {Role.BOARD}),
    Action.MARK_DUPLICATE: (NEW, S.DUPLICATE, {Role.BOARD}),
    Action.ACCEPT_CASE: ({S.ASSIGNED}, S.IN_PROGRESS, {Role.HANDLER}),
    Action.NOTE_PROGRESS: ({S.ASSIGNED, S.IN_PROGRESS, S.BOARD_DIRECT}, None,
                           {Role.BOARD, Role.HANDLER}),
    Action.ANSWER: ({S.ASSIGNED, S.IN_PROGRESS, S.BOARD_DIRECT}, S.ANSWERED,
                    {Role.BOARD, Role.HANDLER}),
    Action.ASK_REASSIGN: ({S.ASSIGNED, S.IN_PROGRESS}, S.ACKNOWLEDGED, {Role.HANDLER}),
    Action.ACCEPT_ANSWER: ({S.ANSWERED}, S.CLOSED, {Role.BOARD}),
    Action.SEND_BACK: ({S.ANSWERED}, S.IN_PROGRESS, {Role.BOARD}),
}


def test_every_action_is_in_the_table() -> None:
    assert set(TRANSITIONS) == set(Action) == set(EXPECTED)


@pytest.mark.parametrize(
    ("action", "status", "role"), list(itertools.product(Action, S, Role))
)
def test_each_action_status_and_role(action: Action, status: S, role: Role) -> None:
    sources, target, roles = EXPECTED[action]
    decision = plan(action, status, role, actor_unit="bo-de", case_unit="bo-de")
    if role not in roles:
        assert decision.refusal is Refusal.NOT_ALLOWED
    elif status not in sources:
        assert decision.refusal is Refusal.WRONG_STATUS
    else:
        assert decision.allowed and decision.transition is not None
        assert decision.transition.target == target


@pytest.mark.parametrize("action", [a for a, e in EXPECTED.items() if Role.HANDLER in e[2]])
def test_a_handler_never_acts_on_another_units_case(action: Action) -> None:
    status = next(iter(EXPECTED[action][0]))
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
