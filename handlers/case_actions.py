"""Taking an action on a case: checked against the lifecycle, applied once, told to everyone."""

from __future__ import annotations

from datetime import datetime

from domain.lifecycle import LEAVES_UNIT, Action, Refusal, can_see, plan, target_status
from domain.reports import (
    CaseUpdate,
    Report,
    ReportStatus,
)
from handlers.cards import (
    BOARD_ACTIONS,
)
from handlers.case_effects import EFFECTS, Details
from handlers.context import Context
from handlers.timeline import record_event

# Actions after which a unit's clock starts again (escalation steps are measured from them).
_CLOCK_RESTARTS = frozenset({Action.ASSIGN, Action.SEND_BACK})


async def visible_case(ctx: Context, code: str) -> Report | None:
    """The case if this person may see it; otherwise None, said as 'not found'."""
    report = await ctx.uow.reports.by_code(code)
    person = ctx.person
    if report is None or not can_see(person.role, person.unit_code, report.assigned_unit_code):
        ctx.say(ctx.t("case.not_found", code=code))
        return None
    return report


def refusal_text(ctx: Context, refusal: Refusal, report: Report) -> str:
    if refusal is Refusal.WRONG_STATUS:
        return ctx.t(
            "case.already_handled",
            code=report.code,
            status=ctx.t(f"status.label.{report.status.value}"),
        )
    if refusal is Refusal.NOT_YOUR_UNIT:
        return ctx.t("case.not_found", code=report.code)
    return ctx.t("case.not_allowed")


def check(ctx: Context, report: Report, action: Action) -> bool:
    decision = plan(
        action, report.status, ctx.person.role, ctx.person.unit_code, report.assigned_unit_code
    )
    if decision.refusal is not None:
        ctx.say(refusal_text(ctx, decision.refusal, report))
        return False
    return True


async def perform(ctx: Context, code: str, action: Action, details: Details) -> bool:
    """Apply `action` to the case as it is now; False (and explained) if refused or beaten."""
    report = await ctx.uow.reports.by_code(code)
    if report is None or report.id is None:
        ctx.say(ctx.t("case.not_found", code=code))
        return False
    decision = plan(
        action, report.status, ctx.person.role, ctx.person.unit_code, report.assigned_unit_code
    )
    if decision.transition is None:
        assert decision.refusal is not None
        ctx.say(refusal_text(ctx, decision.refusal, report))
        return False
    target = target_status(decision.transition, report.status, report.board_direct)
    change = _change(ctx, report, action, target, details)
    if not await ctx.uow.reports.update_if(report.id, report.status, change):
        ctx.say(ctx.t("case.already_handled", code=code, status="—"))
        return False
    await record_event(ctx, report.id, report.status, target, details.note, details.evidence)
    restarted = change.answer_deadline or report.answer_deadline
    if action in _CLOCK_RESTARTS and restarted is not None:
        # Steps are taken once per case and deadline: a case given to another unit with the
        # same date, or an answer sent back that keeps its date, would otherwise get no reminder.
        await ctx.uow.escalations.forget_steps(report.id, restarted)
    updated = await ctx.uow.reports.by_code(code)
    assert updated is not None
    await EFFECTS[action](ctx, updated, details)
    return True


def _redo_deadline(ctx: Context, report: Report) -> datetime | None:
    """An answer sent back gets the time a new case would get, counted from now, unless its
    deadline is later still (None: unchanged): the days the answer waited for the board's
    review are not the unit's delay, and the ladder starts afresh on the new deadline."""
    fresh = ctx.fresh_answer_deadline(report.category_code, report.urgency)
    current = report.answer_deadline
    return fresh if current is None or current < fresh else None


def _change(
    ctx: Context, report: Report, action: Action, target: ReportStatus, details: Details
) -> CaseUpdate:
    acknowledging = action in BOARD_ACTIONS and report.acknowledged_at is None
    # Resolved when the board accepted the answer; the reporter's "yes" later keeps that time.
    resolved = report.resolved_at is None and target in (
        ReportStatus.CLOSED, ReportStatus.VERIFYING
    )
    return CaseUpdate(
        status=target,
        acknowledged_at=ctx.now if acknowledging else None,
        assigned_unit_code=details.unit_code if action is Action.ASSIGN else None,
        answer_deadline=(
            details.deadline if action in (Action.ASSIGN, Action.GRANT_EXTENSION)
            else _redo_deadline(ctx, report) if action is Action.SEND_BACK
            else None
        ),
        board_direct=True if action is Action.HANDLE_DIRECTLY else None,
        duplicate_of=details.duplicate_of if action is Action.MARK_DUPLICATE else None,
        resolved_at=ctx.now if resolved else None,
        clear_assignment=action in LEAVES_UNIT,
        clear_resolution=target is ReportStatus.REOPENED,
    )
