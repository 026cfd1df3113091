"""More time for a case: the unit asks with a reason, the board grants a new deadline or refuses.

| flow   | who     | steps                                                       |
|--------|---------|-------------------------------------------------------------|
| extend | handler | why more time is needed                                     |
| grant  | board   | the new deadline: 1/3/5/10 working days more, or a typed date |
| refuse | board   | why not                                                     |
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Final

from domain.lifecycle import Action
from domain.messages import Choice
from domain.ports import Draft
from handlers.case_actions import perform
from handlers.case_effects import Details
from handlers.context import Context
from handlers.engine import DONE, Answer, Conversation, Rejected, Step
from handlers.menu import show_menu
from handlers.staff_flows import text_flow, typed_date
from handlers.types import Kind

_MORE_DAYS: Final = (1, 3, 5, 10)


def _current_deadline(ctx: Context, draft: Draft) -> datetime:
    raw = draft.data.get("deadline")
    return datetime.fromisoformat(raw) if isinstance(raw, str) else ctx.now


def _ask(key: str) -> Callable[[Context, Draft], str]:
    return lambda ctx, draft: ctx.t(
        key, code=draft.data["case"], deadline=ctx.local_time(_current_deadline(ctx, draft))
    )


def _more_days(ctx: Context, draft: Draft) -> list[Choice]:
    return [Choice(f"d{n}", ctx.t("extension.more_days", days=n)) for n in _MORE_DAYS]


async def _finish(ctx: Context, draft: Draft, action: Action, details: Details) -> str:
    await ctx.uow.drafts.delete(draft.person_id)
    await perform(ctx, str(draft.data["case"]), action, details)
    return DONE


async def _save_grant(ctx: Context, draft: Draft, answer: Answer) -> str:
    """A new deadline later than the one the officer was shown, if that one still holds: an
    extension never shortens the time, and two officers answering the same request at once do
    not undo each other."""
    code = str(draft.data["case"])
    report = await ctx.uow.reports.by_code(code)
    shown = draft.data.get("deadline")
    current = report.answer_deadline if report is not None else None
    if current is not None and (shown is None or datetime.fromisoformat(shown) != current):
        await ctx.uow.drafts.delete(draft.person_id)
        show_menu(ctx, ctx.t("extension.changed_meanwhile", code=code,
                             deadline=ctx.local_time(current)))
        return DONE
    if answer.choice:
        start = max(_current_deadline(ctx, draft), ctx.now)
        deadline = ctx.services.calendar.add_working_days(start, int(answer.choice[1:]))
    else:
        deadline = typed_date(ctx, answer.text or "")
        if current is not None and deadline <= current:
            raise Rejected(ctx.t("extension.not_later", deadline=ctx.local_time(current)))
    details = Details(deadline=deadline, note=ctx.local_time(deadline))
    return await _finish(ctx, draft, Action.GRANT_EXTENSION, details)


def _flow(name: str, step: Step) -> Conversation:
    return Conversation(
        name,
        {step.name: step},
        on_leave=show_menu,
        keeps_draft_on_leave=False,
        cancelled_key="common.action_cancelled",
    )


TEXT = frozenset({Kind.TEXT})
EXTENSION_FLOWS: Final = {
    f.flow: f
    for f in (
        text_flow("extend", _ask("extension.ask_reason"), Action.REQUEST_EXTENSION),
        _flow("grant", Step("deadline", _ask("extension.ask_deadline"), _more_days, _save_grant,
                            next=None, takes=TEXT)),
        text_flow("refuse", _ask("extension.ask_refusal"), Action.REFUSE_EXTENSION),
    )
}
