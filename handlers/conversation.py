"""Where every incoming event goes: commands, menu buttons, or the step of an open draft."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from domain.people import REPORTING_ROLES
from domain.ports import Draft
from handlers.cards import ACTION_COMMANDS, VERIFY_COMMANDS, VERIFY_PREFIX
from handlers.context import Context
from handlers.extension_flows import EXTENSION_FLOWS
from handlers.following import FOLLOWING, begin_following, stop_following
from handlers.intake import FLOW, INTAKE
from handlers.linking import NOTIFY_PREFIX, choose_notify_channel, link
from handlers.menu import (
    MENU_FOLLOW,
    MENU_HELP,
    MENU_NEW,
    MENU_OPEN,
    MENU_ORIENT,
    MENU_OVERDUE,
    MENU_REPORT,
    MENU_STATUS,
    MENU_WORK,
    greet,
    menu_choices,
    show_help,
    show_menu,
)
from handlers.orientation import (
    KEEP_FOR,
    ORIENTATION,
    begin_orientation,
    is_relay_keyword,
    orientation_button,
    relay_keyword,
)
from handlers.orientation_results import show_results
from handlers.orientation_send import cancel_by_command, list_scheduled
from handlers.staff import (
    act_by_command,
    case_button,
    failed_deliveries,
    new_reports,
    open_cases,
    overdue_cases,
    show_case,
    unit_work,
)
from handlers.staff_flows import FLOWS
from handlers.start import is_invitation_code, start
from handlers.status import show_status
from handlers.text import match_choice, split_command
from handlers.types import Incoming, Kind
from handlers.verification import (
    NOT_FIXED,
    settle_not_yet,
    verification_button,
    verify_by_command,
)

Command = Callable[[Context, str], Awaitable[None]]
PARKED = "parked"
# Commands that work on the open report itself (the rest show a menu and park it).
_DRAFT_COMMANDS = frozenset({"phananh", "huy", "trogiup", "help", "start"})


async def route(ctx: Context) -> None:
    incoming = ctx.incoming
    command = split_command(incoming.text) if incoming.kind is Kind.TEXT else None
    if command is not None:
        await _command(ctx, *command)
        return
    if incoming.kind is Kind.CHOICE and incoming.payload.startswith("m:"):
        await _menu(ctx, incoming.payload)
        return
    if incoming.kind is Kind.CHOICE and incoming.payload.startswith("c:"):
        await case_button(ctx, incoming.payload)
        return
    if incoming.kind is Kind.CHOICE and incoming.payload.startswith(VERIFY_PREFIX):
        await verification_button(ctx, incoming.payload)
        return
    if incoming.kind is Kind.CHOICE and incoming.payload.startswith("b:"):
        await orientation_button(ctx, incoming.payload)
        return
    if incoming.kind is Kind.TEXT and is_relay_keyword(ctx, incoming.text):
        # "ĐÃ PHỔ BIẾN" is an exact phrase, no answer to any step: like a command, it works
        # with a draft open and leaves the draft where it is.
        await relay_keyword(ctx)
        await _park(ctx)
        return
    draft = await _usable_draft(ctx)
    if draft is not None and draft.flow != FLOW:
        await OTHER_FLOWS[draft.flow].handle(ctx, draft)
        return
    if draft is not None:
        if draft.data.get(PARKED) and incoming.kind is Kind.TEXT:
            typed = match_choice(incoming.text, menu_choices(ctx))
            if typed is not None:  # she is answering the menu she was shown, not the draft
                await _menu(ctx, typed.payload)
                return
        away = draft.data.get(PARKED) or _idle(ctx, draft)
        if away and incoming.kind is not Kind.CHOICE and not _answers_the_step(incoming, draft):
            await offer_resume(ctx, draft)
            return
        draft.data.pop(PARKED, None)  # a step's own button or media: she is back in the report
        await INTAKE.handle(ctx, draft)
        return
    if incoming.kind is Kind.TEXT and is_invitation_code(incoming.text):
        await start(ctx, incoming.text)  # on Zalo, people join by sending the code as a message
        return
    if incoming.kind is Kind.CHOICE:
        show_menu(ctx, ctx.t("common.stale_button"))
        return
    typed = match_choice(incoming.text, menu_choices(ctx)) if incoming.kind is Kind.TEXT else None
    if typed is not None:
        await _menu(ctx, typed.payload)
        return
    show_menu(ctx, ctx.t("common.not_understood"))


async def _usable_draft(ctx: Context) -> Draft | None:
    """The person's draft, unless it can no longer be continued (then it is dropped).

    A staff action left for longer than `resume_after` is dropped rather than resumed: the next
    thing typed days later must not become a rejection reason. A draft whose flow or step no
    longer exists (after an upgrade) is dropped too.
    """
    draft = await ctx.uow.drafts.get(ctx.person.id)
    if draft is None:
        return None
    flow = INTAKE if draft.flow == FLOW else OTHER_FLOWS.get(draft.flow)
    keep = KEEP_FOR if draft.flow == ORIENTATION.flow else ctx.settings.resume_after
    # A reporter's "not yet" waits for her words or photo however long she takes (she may go
    # and photograph the place); the verification sweep reopens the case if she never sends.
    waits = draft.flow in (FLOW, NOT_FIXED.flow)
    stale_staff = not waits and ctx.now - draft.updated_at >= keep
    if flow is None or draft.step not in flow.steps or stale_staff:
        await ctx.uow.drafts.delete(ctx.person.id)
        if stale_staff and draft.data.get("case"):
            ctx.say(ctx.t("common.action_expired", code=draft.data["case"]))
        elif stale_staff and draft.flow == ORIENTATION.flow:
            ctx.say(ctx.t("orientation.expired"))
        return None
    return draft


async def _command(ctx: Context, name: str, argument: str) -> None:
    handler = _COMMANDS.get(name)
    if handler is None:
        show_menu(ctx, ctx.t("common.unknown_command", command=name))
    else:
        await handler(ctx, argument)
    if name not in _DRAFT_COMMANDS:
        await _park(ctx)


async def _park(ctx: Context) -> None:
    """After another command, typed numbers answer the menu just shown, not the open report."""
    draft = await ctx.uow.drafts.get(ctx.person.id)
    if draft is not None and draft.flow == FLOW and not draft.data.get(PARKED):
        draft.data[PARKED] = True
        await ctx.uow.drafts.save(draft)


async def _menu(ctx: Context, payload: str) -> None:
    staff = _STAFF_MENU.get(payload)
    if payload.startswith(NOTIFY_PREFIX):
        await choose_notify_channel(ctx, payload.removeprefix(NOTIFY_PREFIX))
    elif staff is not None:
        await staff(ctx, "")
    elif payload == MENU_REPORT:
        await begin_report(ctx, "")
    elif payload == MENU_STATUS:
        await show_status(ctx, "")
    elif payload == MENU_HELP:
        show_help(ctx)
    elif payload == MENU_ORIENT:
        await begin_orientation(ctx, "")
    elif payload == MENU_FOLLOW:
        await begin_following(ctx, "")
    else:
        show_menu(ctx, ctx.t("common.invalid_choice"))


async def _start(ctx: Context, argument: str) -> None:
    draft = await ctx.uow.drafts.get(ctx.person.id)
    await start(ctx, argument)
    if draft is not None and draft.flow == FLOW and not argument:
        await offer_resume(ctx, draft)


async def begin_report(ctx: Context, argument: str) -> None:
    if ctx.person.role not in REPORTING_ROLES:
        show_menu(ctx, ctx.t("common.reporters_only"))
        return
    await settle_not_yet(ctx)
    draft = await _usable_draft(ctx)
    if draft is not None and draft.flow == FLOW:
        await offer_resume(ctx, draft)
        return
    draft = Draft(ctx.person.id, FLOW, "category", {}, 0, ctx.now, ctx.now)
    await INTAKE.goto(ctx, draft, "category")


async def offer_resume(ctx: Context, draft: Draft) -> None:
    draft.data.pop(PARKED, None)
    if draft.step != "resume":
        draft.data["resume_step"] = draft.step
    await INTAKE.goto(ctx, draft, "resume")


async def _cancel(ctx: Context, argument: str) -> None:
    draft = await ctx.uow.drafts.get(ctx.person.id)
    if draft is None:
        show_menu(ctx, ctx.t("common.nothing_to_cancel"))
        return
    flow = OTHER_FLOWS.get(draft.flow)
    if flow is not None:  # says what was dropped (an action on a case, an orientation, ...)
        await flow.cancel(ctx, draft)
        return
    await ctx.uow.drafts.delete(ctx.person.id)
    show_menu(ctx, ctx.t("common.cancelled"))


async def _help(ctx: Context, argument: str) -> None:
    draft = await _usable_draft(ctx)
    if draft is None:
        show_help(ctx)
        return
    if draft.flow == FLOW and (draft.data.pop(PARKED, None) or _idle(ctx, draft)):
        # The step is asked again with its help: her next answer is an answer to it.
        draft.revision, draft.updated_at = draft.revision + 1, ctx.now
        await ctx.uow.drafts.save(draft)
    (INTAKE if draft.flow == FLOW else OTHER_FLOWS[draft.flow]).help(ctx, draft)


_MEDIA = frozenset({Kind.PHOTO, Kind.VOICE, Kind.LOCATION})


def _answers_the_step(incoming: Incoming, draft: Draft) -> bool:
    """A photo at the photos step, a location at the place step: no menu takes those, so even
    after a command or a long pause they can only be meant for the report."""
    step = INTAKE.steps.get(draft.step)
    return incoming.kind in _MEDIA and step is not None and incoming.kind in step.takes


def _idle(ctx: Context, draft: Draft) -> bool:
    return (
        draft.flow == FLOW
        and draft.step != "resume"
        and ctx.now - draft.updated_at >= ctx.settings.resume_after
    )


_COMMANDS: dict[str, Command] = {
    "start": _start,
    "phananh": begin_report,
    "huy": _cancel,
    "trogiup": _help,
    "help": _help,
    "trangthai": show_status,
    "status": show_status,
    "moi": new_reports,
    "dangxuly": open_cases,
    "quahan": overdue_cases,
    "vuviec": show_case,
    "viec": unit_work,
    "guiloi": failed_deliveries,
    "lienket": link,
    "thongbao": choose_notify_channel,
    "theodoi": begin_following,
    "huytheodoi": stop_following,
    "dinhhuong": begin_orientation,
    "lich": list_scheduled,
    "ketqua": show_results,
    "huylich": cancel_by_command,
    **{name: act_by_command(action) for name, action in ACTION_COMMANDS.items()},
    **{name: verify_by_command(action) for name, action in VERIFY_COMMANDS.items()},
}

# Conversations other than the intake, by the flow name their drafts carry.
OTHER_FLOWS = {
    **FLOWS,
    **EXTENSION_FLOWS,
    NOT_FIXED.flow: NOT_FIXED,
    ORIENTATION.flow: ORIENTATION,
    FOLLOWING.flow: FOLLOWING,
}

_STAFF_MENU: dict[str, Command] = {
    MENU_NEW: new_reports,
    MENU_OPEN: open_cases,
    MENU_OVERDUE: overdue_cases,
    MENU_WORK: unit_work,
}

__all__ = ["greet", "route"]
