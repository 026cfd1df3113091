"""Short guided steps for staff actions that need input, as step tables like the intake's.

| flow      | steps                                             | then                     |
|-----------|---------------------------------------------------|--------------------------|
| assign    | unit (suggested first) → deadline (default first) | assign, tell everyone    |
| reject    | reason (common ones, or typed)                    | reject, tell reporter    |
| duplicate | the original case's code                          | link, tell reporter      |
| note      | progress note text                                | timeline event           |
| answer    | answer text → photos, or why there are none       | to the board for review  |
| reassign  | why another unit should handle it                 | back to the board        |
| sendback  | why the answer is not good enough                 | back to the unit         |
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Final
from zoneinfo import ZoneInfo

from domain.lifecycle import Action
from domain.messages import Choice
from domain.org import ROUTE_TO_WARD, UnitKind
from domain.ports import Draft
from domain.reports import ReportStatus, Urgency, normalise_report_code
from handlers.case_actions import perform
from handlers.case_effects import Details
from handlers.context import Context
from handlers.engine import DONE, NEXT, REASK, Answer, Conversation, Rejected, Step, typed_text
from handlers.menu import show_menu
from handlers.types import Kind

TEXT = frozenset({Kind.TEXT})
HANDLING_KINDS = (UnitKind.WARD, UnitKind.DEPARTMENT)
_DEADLINE_DAYS = (1, 3, 5, 10)


def _code(draft: Draft) -> str:
    return str(draft.data["case"])


async def _finish(ctx: Context, draft: Draft, action: Action, details: Details) -> str:
    await ctx.uow.drafts.delete(draft.person_id)
    await perform(ctx, _code(draft), action, details)
    return DONE


def _text(ctx: Context, answer: Answer) -> str:
    return typed_text(ctx, answer.text, ctx.settings.max_text_chars)


# --- assign -----------------------------------------------------------------------------------
def suggested_unit(ctx: Context, category_code: str, ward_code: str) -> str:
    category = ctx.org.category(category_code)
    route = category.routes_to if category else ROUTE_TO_WARD
    return ward_code if route == ROUTE_TO_WARD else route


def unit_options(ctx: Context, draft: Draft) -> list[Choice]:
    suggested = str(draft.data["suggested"])
    first = Choice(suggested, ctx.t("staff.assign.suggested", unit=ctx.unit_label(suggested)))
    others = [
        Choice(u.code, u.label)
        for u in ctx.org.units
        if u.kind in HANDLING_KINDS and u.code != suggested
    ]
    return [first, *others]


async def save_unit(ctx: Context, draft: Draft, answer: Answer) -> str:
    draft.data["unit"] = answer.choice
    return NEXT


def default_deadline(ctx: Context, draft: Draft) -> datetime:
    return ctx.fresh_answer_deadline(str(draft.data["category"]), Urgency(draft.data["urgency"]))


def deadline_options(ctx: Context, draft: Draft) -> list[Choice]:
    default = Choice(
        "default",
        ctx.t(
            "staff.assign.default_deadline", deadline=ctx.local_time(default_deadline(ctx, draft))
        ),
    )
    return [default] + [Choice(f"d{n}", ctx.t("staff.assign.days", days=n)) for n in _DEADLINE_DAYS]


async def save_deadline(ctx: Context, draft: Draft, answer: Answer) -> str:
    if answer.choice == "default":
        deadline = default_deadline(ctx, draft)
    elif answer.choice:
        deadline = ctx.services.calendar.add_working_days(ctx.now, int(answer.choice[1:]))
    else:
        deadline = typed_date(ctx, answer.text or "")
    details = Details(
        unit_code=str(draft.data["unit"]),
        deadline=deadline,
        note=ctx.unit_label(str(draft.data["unit"])),
    )
    return await _finish(ctx, draft, Action.ASSIGN, details)


def typed_date(ctx: Context, text: str) -> datetime:
    """'25/12' or '25/12/2026': the end of that working day, which must be in the future."""
    tz = ZoneInfo(ctx.org.working_time.timezone)
    parts = text.strip().replace("-", "/").replace(".", "/").split("/")
    try:
        day, month = int(parts[0]), int(parts[1])
        year = int(parts[2]) if len(parts) > 2 else ctx.now.astimezone(tz).year
        end = max(p[1] for p in ctx.org.working_time.periods)
        moment = datetime.combine(datetime(year, month, day).date(), end, tzinfo=tz)
    except (ValueError, IndexError, OverflowError):  # OverflowError: "99999999999/12"
        raise Rejected(ctx.t("staff.assign.bad_date")) from None
    if moment <= ctx.now:
        raise Rejected(ctx.t("staff.assign.past_date"))
    return moment


# --- reasons and texts --------------------------------------------------------------------------
REJECT_REASONS: Final = ("out_of_scope", "not_enough_info", "not_true")


def reject_options(ctx: Context, draft: Draft) -> list[Choice]:
    return [Choice(r, ctx.t(f"staff.reject.{r}")) for r in REJECT_REASONS]


async def save_reject(ctx: Context, draft: Draft, answer: Answer) -> str:
    reason = ctx.t(f"staff.reject.{answer.choice}") if answer.choice else _text(ctx, answer)
    return await _finish(ctx, draft, Action.REJECT, Details(note=reason))


async def save_duplicate(ctx: Context, draft: Draft, answer: Answer) -> str:
    original = normalise_report_code(answer.text or "")
    if original is None:
        raise Rejected(ctx.t("status.bad_code"))
    found = await ctx.uow.reports.by_code(original) if original != _code(draft) else None
    if found is None:
        raise Rejected(ctx.t("staff.duplicate.unknown", code=original))
    if found.status in (ReportStatus.DUPLICATE, ReportStatus.REJECTED):
        # Its reporter would wait on a case that will never be answered (or on a cycle).
        raise Rejected(ctx.t("staff.duplicate.not_original", code=original))
    details = Details(duplicate_of=original, note=original)
    return await _finish(ctx, draft, Action.MARK_DUPLICATE, details)


Question = Callable[[Context, Draft], str]
Save = Callable[[Context, Draft, Answer], Awaitable[str]]


def _text_step(action: Action) -> Save:
    async def save(ctx: Context, draft: Draft, answer: Answer) -> str:
        return await _finish(ctx, draft, action, Details(note=_text(ctx, answer)))

    return save


# --- answer -----------------------------------------------------------------------------------
async def save_answer_text(ctx: Context, draft: Draft, answer: Answer) -> str:
    draft.data["answer"] = _text(ctx, answer)
    return NEXT


def evidence_question(ctx: Context, draft: Draft) -> str:
    count = len(draft.data.get("evidence", []))
    if count:
        return ctx.t("staff.answer.received", count=count, limit=ctx.settings.max_photos)
    return ctx.t("staff.answer.photos", limit=ctx.settings.max_photos)


def evidence_options(ctx: Context, draft: Draft) -> list[Choice]:
    if draft.data.get("evidence"):
        return [Choice("send", ctx.t("staff.answer.send"))]
    return [Choice("nophoto", ctx.t("staff.answer.no_photo"))]


async def save_evidence(ctx: Context, draft: Draft, answer: Answer) -> str:
    if answer.choice == "nophoto":
        return "why_no_photo"
    evidence: list[str] = draft.data.setdefault("evidence", [])
    if answer.choice == "send":
        details = Details(note=str(draft.data["answer"]), evidence=tuple(evidence))
        return await _finish(ctx, draft, Action.ANSWER, details)
    if answer.media is None or len(evidence) >= ctx.settings.max_photos:
        raise Rejected(ctx.t("intake.photos.too_many", limit=ctx.settings.max_photos))
    evidence.append(answer.media.sha256)
    return REASK


async def save_why_no_photo(ctx: Context, draft: Draft, answer: Answer) -> str:
    why = _text(ctx, answer)
    note = ctx.t("staff.answer.with_reason", answer=draft.data["answer"], reason=why)
    return await _finish(ctx, draft, Action.ANSWER, Details(note=note))


def _ask(key: str) -> Question:
    return lambda ctx, draft: ctx.t(key, code=_code(draft))


def _none(ctx: Context, draft: Draft) -> list[Choice]:
    return []


def text_flow(name: str, ask: Question, action: Action) -> Conversation:
    """One question, a typed text, then the action with that text as its note."""
    return _flow(name, Step("text", ask, _none, _text_step(action), next=None, takes=TEXT))


def _flow(name: str, *steps: Step) -> Conversation:
    return Conversation(
        name,
        {s.name: s for s in steps},
        on_leave=show_menu,
        keeps_draft_on_leave=False,
        cancelled_key="common.action_cancelled",
    )


FLOWS: Final = {
    f.flow: f
    for f in (
        _flow(
            "assign",
            Step("unit", _ask("staff.assign.unit"), unit_options, save_unit, next="deadline"),
            Step(
                "deadline",
                _ask("staff.assign.deadline"),
                deadline_options,
                save_deadline,
                next=None,
                takes=TEXT,
                back="unit",
            ),
        ),
        _flow(
            "reject",
            Step(
                "reason",
                _ask("staff.reject.ask"),
                reject_options,
                save_reject,
                next=None,
                takes=TEXT,
            ),
        ),
        _flow(
            "duplicate",
            Step(
                "original",
                _ask("staff.duplicate.ask"),
                _none,
                save_duplicate,
                next=None,
                takes=TEXT,
            ),
        ),
        text_flow("note", _ask("staff.note.ask"), Action.NOTE_PROGRESS),
        _flow(
            "answer",
            Step(
                "text",
                _ask("staff.answer.ask"),
                _none,
                save_answer_text,
                next="evidence",
                takes=TEXT,
            ),
            Step(
                "evidence",
                evidence_question,
                evidence_options,
                save_evidence,
                next=None,
                takes=frozenset({Kind.PHOTO}),
                back="text",
            ),
            Step(
                "why_no_photo",
                _ask("staff.answer.why_no_photo"),
                _none,
                save_why_no_photo,
                next=None,
                takes=TEXT,
                back="evidence",
            ),
        ),
        text_flow("reassign", _ask("staff.reassign.ask"), Action.ASK_REASSIGN),
        text_flow("sendback", _ask("staff.sendback.ask"), Action.SEND_BACK),
    )
}
