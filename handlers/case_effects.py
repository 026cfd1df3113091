"""Who hears about what when a case changes (the table is `EFFECTS`, at the end)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

from domain.lifecycle import Action
from domain.messages import Choice, Reply
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
    EXTENSION_ACTIONS,
    HANDLER_ACTIONS,
    REVIEW_ACTIONS,
    action_buttons,
    answers_of,
    board_card,
    board_cards,
    handler_card,
    verify_payload,
)
from handlers.context import Context
from handlers.orientation_offer import offer_orientation
from handlers.timeline import record_event


@dataclass(frozen=True)
class Details:
    """What the person gave with the action (a reason, an answer, a unit, a deadline)."""

    note: str = ""
    evidence: tuple[str, ...] = ()
    unit_code: str | None = None
    deadline: datetime | None = None
    duplicate_of: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


# --- who hears about what ---------------------------------------------------------------------
async def _tell_reporter(ctx: Context, report: Report, key: str, **values: object) -> None:
    await ctx.notify(report.reporter_id, Reply(ctx.t(key, code=report.code, **values)))


async def _tell_unit(ctx: Context, report: Report, heading: str) -> None:
    unit = report.assigned_unit_code
    for handler in await ctx.uow.people.with_role(Role.HANDLER, unit) if unit else []:
        await ctx.notify(handler.id, handler_card(ctx, report, handler, heading))


async def tell_board(ctx: Context, report: Report, heading: str, group: bool = False) -> None:
    """Every board officer gets the case card under `heading`; also the board's group if asked."""
    officers = await ctx.uow.people.with_role(Role.BOARD)
    for officer, card in zip(officers, await board_cards(ctx, report, officers), strict=True):
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
    await ask_reporter(ctx, report)
    await _tell_unit(ctx, report, ctx.t("case.heading.approved"))
    _confirm(ctx, report, "case.done.approved")
    offer_orientation(ctx, report)  # "📢 Đăng định hướng về vụ việc này"


async def ask_reporter(ctx: Context, report: Report) -> None:
    """The answer and its photos go to the reporter, who judges: really fixed, not yet, unsure."""
    answer = await latest_answer(ctx, report)
    choices = tuple(
        Choice(verify_payload(action, report.code), ctx.t(f"verify.choice.{action.value}"))
        for action in (Action.CONFIRM_FIXED, Action.REPORT_NOT_FIXED, Action.NOT_SURE)
    )
    text = ctx.t("case.tell.resolved", code=report.code, answer=answer.note if answer else "")
    text += "\n" + ctx.t("verify.ask")
    photos = answer.evidence if answer else ()
    await ctx.notify(report.reporter_id, Reply(text, choices, photos=photos))
    second = await second_verifier(ctx, report)
    if second is not None:
        intro = ctx.t("verify.second_opinion", ward=ctx.unit_label(report.ward_code))
        await ctx.notify(second, Reply(f"{intro}\n{text}", choices, photos=photos))


async def second_verifier(ctx: Context, report: Report) -> int | None:
    """If the org asks for it: one other collaborator of the case's ward (the longest-serving),
    never the reporter. The same person every time, so the answer can be checked against it."""
    if not ctx.org.deadlines.verification_second_opinion:
        return None
    others = [p for p in await ctx.uow.people.with_role(Role.COLLABORATOR, report.ward_code)
              if p.id != report.reporter_id]
    return min((p.id for p in others), default=None)


async def _verified(ctx: Context, report: Report, d: Details) -> None:
    ctx.say(ctx.t("verify.thanks", code=report.code))
    if ctx.person.id != report.reporter_id:  # the other collaborator asked answered
        await ctx.notify(report.reporter_id,
                         Reply(ctx.t("verify.closed_for_reporter", code=report.code)))
    await _tell_unit(ctx, report, ctx.t("verify.heading.fixed"))


async def _not_sure(ctx: Context, report: Report, d: Details) -> None:
    ctx.say(ctx.t("verify.thanks_unsure", code=report.code))


async def _not_fixed(ctx: Context, report: Report, d: Details) -> None:
    """Reopened: straight back to whoever handled it (the unit, or the board for a case it took
    over) with a new deadline; the board is told."""
    assert report.id is not None
    deadline = ctx.fresh_answer_deadline(report.category_code, report.urgency)
    back_to = ReportStatus.ASSIGNED if report.assigned_unit_code else ReportStatus.BOARD_DIRECT
    change = CaseUpdate(back_to, answer_deadline=deadline)
    if await ctx.uow.reports.update_if(report.id, ReportStatus.REOPENED, change):
        handler = ctx.unit_label(report.assigned_unit_code) if report.assigned_unit_code else ""
        await record_event(ctx, report.id, ReportStatus.REOPENED, back_to, handler,
                           by_system=True)
    updated = await ctx.uow.reports.by_code(report.code)
    assert updated is not None
    words = d.note or "—"
    heading = ctx.t("verify.heading.not_fixed", words=words, deadline=ctx.local_time(deadline))
    await _tell_unit(ctx, _with_photos(updated, d), heading)
    await tell_board(ctx, _with_photos(updated, d), ctx.t("verify.heading.board", words=words))
    who = (ctx.unit_label(report.assigned_unit_code) if report.assigned_unit_code
           else ctx.t("verify.the_board"))
    ctx.say(ctx.t("verify.reopened", code=report.code, unit=who,
                  deadline=ctx.local_time(deadline)))
    if ctx.person.id != report.reporter_id:  # the other collaborator asked answered
        await ctx.notify(report.reporter_id, Reply(ctx.t(
            "verify.reopened_for_reporter", code=report.code, unit=who,
            deadline=ctx.local_time(deadline))))


async def _sent_back(ctx: Context, report: Report, d: Details) -> None:
    await _tell_unit(ctx, report, ctx.t("case.heading.sent_back", reason=d.note))
    _confirm(ctx, report, "case.done.sent_back")


def _with_photos(report: Report, d: Details) -> Report:
    """The board reviews the answer's evidence photos, not the report's own."""
    evidence = [StoredMedia(sha, MediaKind.PHOTO, "image/jpeg", 0) for sha in d.evidence]
    return replace(report, media=evidence)


async def latest_answer(ctx: Context, report: Report) -> ReportEvent | None:
    answers = await answers_of(ctx, report)
    return answers[-1] if answers else None


async def _extension_asked(ctx: Context, report: Report, d: Details) -> None:
    heading = ctx.t("extension.heading.asked", unit=ctx.unit_label(ctx.person.unit_code),
                    reason=d.note)
    officers = await ctx.uow.people.with_role(Role.BOARD)
    for officer, card in zip(officers, await board_cards(ctx, report, officers), strict=True):
        buttons = action_buttons(ctx, report, EXTENSION_ACTIONS, Role.BOARD, officer.unit_code)
        await ctx.notify(officer.id, Reply(f"{heading}\n{card.text}", buttons))
    _confirm(ctx, report, "extension.done.asked")


async def _extension_granted(ctx: Context, report: Report, d: Details) -> None:
    deadline = ctx.local_time(report.answer_deadline) if report.answer_deadline else "—"
    await _tell_unit(ctx, report, ctx.t("extension.heading.granted", deadline=deadline))
    await ctx.notify(report.reporter_id, Reply(ctx.t(
        "extension.tell_reporter", code=report.code, deadline=deadline)))
    _confirm(ctx, report, "extension.done.granted", deadline=deadline)


async def _extension_refused(ctx: Context, report: Report, d: Details) -> None:
    await _tell_unit(ctx, report, ctx.t("extension.heading.refused", reason=d.note))
    _confirm(ctx, report, "extension.done.refused")


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
    Action.CONFIRM_FIXED: _verified,
    Action.REPORT_NOT_FIXED: _not_fixed,
    Action.NOT_SURE: _not_sure,
    Action.REQUEST_EXTENSION: _extension_asked,
    Action.GRANT_EXTENSION: _extension_granted,
    Action.REFUSE_EXTENSION: _extension_refused,
}
