""""Is it really fixed?": the reporter confirms, says not yet (and why), or does not know."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Final

from domain.lifecycle import (
    VERIFICATION_ACTIONS,
    Action,
    verification_note,
)
from domain.messages import Choice
from domain.ports import Draft
from domain.reports import Report, normalise_report_code
from handlers.cards import VERIFY_PREFIX
from handlers.case_actions import check, perform
from handlers.case_effects import Details, second_verifier
from handlers.context import Context
from handlers.engine import DONE, REASK, Answer, Conversation, Step, typed_text
from handlers.menu import show_menu
from handlers.types import Kind

PREFIX: Final = VERIFY_PREFIX


async def _own_case(ctx: Context, code: str) -> Report | None:
    """The case if this person was asked about it: its reporter, or the second opinion."""
    report = await ctx.uow.reports.by_code(code)
    asked = report is not None and (
        report.reporter_id == ctx.person.id
        or await second_verifier(ctx, report) == ctx.person.id
    )
    if report is None or not asked:
        show_menu(ctx, ctx.t("status.not_found", code=code))
        return None
    return report


async def verification_button(ctx: Context, payload: str) -> None:
    """`v:<action>:<code>`, forgeable like any button: only the case's reporter may answer."""
    action_name, _, raw_code = payload.removeprefix(PREFIX).partition(":")
    action = next((a for a in VERIFICATION_ACTIONS if a.value == action_name), None)
    code = normalise_report_code(raw_code)
    if action is None or code is None:
        show_menu(ctx, ctx.t("common.invalid_choice"))
        return
    report = await _own_case(ctx, code)
    if report is None or not check(ctx, report, action):
        return
    # "Not yet" asks for her words in a short draft of its own, unless she is in the middle of
    # something else (a report being written): then the case reopens at once, her draft kept.
    if action is Action.REPORT_NOT_FIXED and await ctx.uow.drafts.get(ctx.person.id) is None:
        draft = Draft(ctx.person.id, FLOW, "details", {"case": code}, 0, ctx.now, ctx.now)
        await NOT_FIXED.goto(ctx, draft, "details")
        return
    await perform(ctx, code, action, Details(note=verification_note(action)))


def verify_by_command(action: Action) -> Callable[[Context, str], Awaitable[None]]:
    async def act(ctx: Context, argument: str) -> None:
        await verification_button(ctx, f"{PREFIX}{action.value}:{argument.strip()}")

    return act


# --- "not yet": the reporter's words and photos -----------------------------------------------
FLOW: Final = "notfixed"


def _details_question(ctx: Context, draft: Draft) -> str:
    count = len(draft.data.get("evidence", []))
    key = "verify.details_received" if count else "verify.details"
    return ctx.t(key, code=draft.data["case"], count=count)


def _details_options(ctx: Context, draft: Draft) -> list[Choice]:
    return [Choice("send", ctx.t("verify.send"))]


async def _save_details(ctx: Context, draft: Draft, answer: Answer) -> str:
    evidence: list[str] = draft.data.setdefault("evidence", [])
    if answer.media is not None:
        if len(evidence) < ctx.settings.max_photos:
            evidence.append(answer.media.sha256)
        return REASK
    words = "" if answer.choice == "send" else typed_text(
        ctx, answer.text, ctx.settings.max_text_chars
    )
    code = str(draft.data["case"])
    await ctx.uow.drafts.delete(draft.person_id)
    if await _own_case(ctx, code) is not None:
        await perform(ctx, code, Action.REPORT_NOT_FIXED, not_yet_details(draft, words))
    return DONE


def not_yet_details(draft: Draft, words: str = "") -> Details:
    """What a "not yet" reopens the case with: her words, if any, and the photos she sent."""
    return Details(note=words, evidence=tuple(str(sha) for sha in draft.data.get("evidence", [])))


async def settle_not_yet(ctx: Context) -> None:
    """A "not yet" she is writing is sent as it stands (as if she pressed «Gửi») before anything
    else replaces her draft: a new report, a subscription, a new role. Dropped, the case would
    close later as "not verified" although she said it is not fixed."""
    draft = await ctx.uow.drafts.get(ctx.person.id)
    if draft is not None and draft.flow == FLOW:
        await _save_details(ctx, draft, Answer(choice="send"))


NOT_FIXED: Final = Conversation(
    FLOW,
    {"details": Step("details", _details_question, _details_options, _save_details, next=None,
                     takes=frozenset({Kind.TEXT, Kind.PHOTO}))},
    on_leave=show_menu, keeps_draft_on_leave=False, cancelled_key="common.action_cancelled",
)
