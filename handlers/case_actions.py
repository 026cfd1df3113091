"""Taking an action on a case: checked against the lifecycle, applied once, told to everyone."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

from domain.lifecycle import LEAVES_UNIT, Action, Refusal, can_see, plan, target_status
from domain.messages import Reply
from domain.people import Role
from domain.reports import (
    CaseUpdate,
    MediaKind,
    Report,
    ReportEvent,
    ReportStatus,
    StoredMedia,
)
from handlers.cards import (
    BOARD_ACTIONS,
    HANDLER_ACTIONS,
    REVIEW_ACTIONS,
    action_buttons,
    board_card,
    handler_card,
)
from handlers.context import Context


@dataclass(frozen=True)
class Details:
    """What the person gave with the action (a reason, an answer, a unit, a deadline)."""

    note: str = ""
    evidence: tuple[str, ...] = ()
    unit_code: str | None = None
    deadline: datetime | None = None
    duplicate_of: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


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
    await ctx.uow.reports.add_event(
        ReportEvent(
            report_id=report.id,
            at=ctx.now,
            actor_id=ctx.person.id,
            actor_role=ctx.person.role,
            from_status=report.status,
            to_status=target,
            note=details.note,
            evidence=details.evidence,
        )
    )
    updated = await ctx.uow.reports.by_code(code)
    assert updated is not None
    await EFFECTS[action](ctx, updated, details)
    return True


def _change(
    ctx: Context, report: Report, action: Action, target: ReportStatus, details: Details
) -> CaseUpdate:
    acknowledging = action in BOARD_ACTIONS and report.acknowledged_at is None
    resolved = target in (ReportStatus.CLOSED, ReportStatus.VERIFYING)
    return CaseUpdate(
        status=target,
        acknowledged_at=ctx.now if acknowledging else None,
        assigned_unit_code=details.unit_code if action is Action.ASSIGN else None,
        answer_deadline=details.deadline if action is Action.ASSIGN else None,
        board_direct=True if action is Action.HANDLE_DIRECTLY else None,
        duplicate_of=details.duplicate_of if action is Action.MARK_DUPLICATE else None,
        resolved_at=ctx.now if resolved else None,
        clear_assignment=action in LEAVES_UNIT,
    )


# --- who hears about what ---------------------------------------------------------------------
async def _tell_reporter(ctx: Context, report: Report, key: str, **values: object) -> None:
    await ctx.notify(report.reporter_id, Reply(ctx.t(key, code=report.code, **values)))


async def _tell_unit(ctx: Context, report: Report, heading: str) -> None:
    unit = report.assigned_unit_code
    for handler in await ctx.uow.people.with_role(Role.HANDLER, unit) if unit else []:
        await ctx.notify(handler.id, handler_card(ctx, report, handler, heading))


async def tell_board(ctx: Context, report: Report, heading: str, group: bool = False) -> None:
    """Every board officer gets the case card under `heading`; also the board's group if asked."""
    for officer in await ctx.uow.people.with_role(Role.BOARD):
        card = await board_card(ctx, report, officer)
        await ctx.notify(officer.id, replace(card, text=f"{heading}\n{card.text}"))
    if group and ctx.services.board_chat is not None:
        channel, chat_id = ctx.services.board_chat
        card = await board_card(ctx, report, ctx.person)
        ctx.send_to(channel, chat_id, replace(card, text=f"{heading}\n{card.text}"))


def _confirm(ctx: Context, report: Report, key: str, **values: object) -> None:
    role, unit = ctx.person.role, ctx.person.unit_code
    actions = HANDLER_ACTIONS if role is Role.HANDLER else REVIEW_ACTIONS
    ctx.say(
        ctx.t(key, code=report.code, **values), action_buttons(ctx, report, actions, role, unit)
    )


async def _assigned(ctx: Context, report: Report, d: Details) -> None:
    unit = ctx.unit_label(report.assigned_unit_code)
    deadline = ctx.local_time(report.answer_deadline) if report.answer_deadline else "—"
    await _tell_reporter(ctx, report, "case.tell.assigned", unit=unit, deadline=deadline)
    await _tell_unit(ctx, report, ctx.t("case.heading.assigned", deadline=deadline))
    _confirm(ctx, report, "case.done.assigned", unit=unit, deadline=deadline)


async def _direct(ctx: Context, report: Report, d: Details) -> None:
    await _tell_reporter(ctx, report, "case.tell.direct")
    _confirm(ctx, report, "case.done.direct")


async def _rejected(ctx: Context, report: Report, d: Details) -> None:
    await _tell_reporter(ctx, report, "case.tell.rejected", reason=d.note)
    _confirm(ctx, report, "case.done.rejected")


async def _duplicate(ctx: Context, report: Report, d: Details) -> None:
    await _tell_reporter(ctx, report, "case.tell.duplicate", original=d.duplicate_of)
    _confirm(ctx, report, "case.done.duplicate", original=d.duplicate_of)


async def _accepted_case(ctx: Context, report: Report, d: Details) -> None:
    _confirm(ctx, report, "case.done.accepted")


async def _noted(ctx: Context, report: Report, d: Details) -> None:
    _confirm(ctx, report, "case.done.noted")


async def _answered(ctx: Context, report: Report, d: Details) -> None:
    heading = ctx.t(
        "case.heading.answered", unit=ctx.unit_label(ctx.person.unit_code), answer=d.note
    )
    await tell_board(ctx, _with_photos(report, d), heading)
    _confirm(ctx, report, "case.done.answered")


async def _reassign_asked(ctx: Context, report: Report, d: Details) -> None:
    heading = ctx.t(
        "case.heading.reassign", unit=ctx.unit_label(ctx.person.unit_code), reason=d.note
    )
    await tell_board(ctx, report, heading)
    _confirm(ctx, report, "case.done.reassign")


async def _approved(ctx: Context, report: Report, d: Details) -> None:
    answer = await latest_answer(ctx, report)
    text = ctx.t("case.tell.resolved", code=report.code, answer=answer.note if answer else "")
    await ctx.notify(report.reporter_id, Reply(text, photos=answer.evidence if answer else ()))
    await _tell_unit(ctx, report, ctx.t("case.heading.approved"))
    _confirm(ctx, report, "case.done.approved")


async def _sent_back(ctx: Context, report: Report, d: Details) -> None:
    await _tell_unit(ctx, report, ctx.t("case.heading.sent_back", reason=d.note))
    _confirm(ctx, report, "case.done.sent_back")


def _with_photos(report: Report, d: Details) -> Report:
    """The board reviews the answer's evidence photos, not the report's own."""
    evidence = [StoredMedia(sha, MediaKind.PHOTO, "image/jpeg", 0) for sha in d.evidence]
    return replace(report, media=evidence)


async def latest_answer(ctx: Context, report: Report) -> ReportEvent | None:
    assert report.id is not None
    answers = [
        e for e in await ctx.uow.reports.events(report.id) if e.to_status is ReportStatus.ANSWERED
    ]
    return answers[-1] if answers else None


EFFECTS: dict[Action, Callable[[Context, Report, Details], Awaitable[None]]] = {
    Action.ASSIGN: _assigned,
    Action.HANDLE_DIRECTLY: _direct,
    Action.REJECT: _rejected,
    Action.MARK_DUPLICATE: _duplicate,
    Action.ACCEPT_CASE: _accepted_case,
    Action.NOTE_PROGRESS: _noted,
    Action.ANSWER: _answered,
    Action.ASK_REASSIGN: _reassign_asked,
    Action.ACCEPT_ANSWER: _approved,
    Action.SEND_BACK: _sent_back,
}
