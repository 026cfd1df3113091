"""`/dinhhuong`: a board officer writes an orientation (*thông tin định hướng*) and sends it.

| step       | asks                                    | takes                          | next     |
|------------|-----------------------------------------|--------------------------------|----------|
| text       | the text (≤ copy_budget: one call/copy) | text, or a photo with caption  | photo    |
| prefilled  | (about a case) use the case's answer?   | «Dùng nội dung này», new text  | photo    |
| photo      | one photo, optional                     | a photo, «Bỏ qua»              | audience |
| audience   | who receives it                         | one of five audiences          | sub-step |
| tier       | which level                             | district / ward / mass org.    | summary  |
| wards      | which wards (toggles)                   | wards, «Xong» (at least one)   | summary  |
| res_wards  | residents following which wards         | wards, «Xong»                  | res_top… |
| res_topics | … or which topics (toggles)             | topics, «Xong» (≥ 1 of both)   | summary  |
| case       | the case's code                         | an existing PA-… code          | summary  |
| summary    | preview: copy, audience, count/channel  | Send now / Schedule / Edit     | sent     |
| edit       | what to change                          | text / photo / audience        | it       |
| schedule   | when                                    | "28/11 08:00", in the future   | confirm  |
| confirm    | the moment and the audience             | «Xác nhận hẹn giờ»             | stored   |

Board officers only, checked at the start and again when it is stored. An orientation about a
case (the offer after the board accepts an answer, or `/dinhhuong PA-…`) starts at `prefilled`
with the audience set to the case's ward, and goes from the photo straight to the preview. Every
step has Back and Cancel; docs/orientation.md has the diagrams. `/lich` and the cancel button are
in orientation_send.py, the "đã phổ biến" confirmations at the end of this file.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from domain.broadcasts import Audience, AudienceKind
from domain.messages import Choice
from domain.ports import Draft
from domain.reports import normalise_report_code
from handlers.broadcasting import RELAY_PREFIX
from handlers.case_effects import latest_answer
from handlers.context import Context
from handlers.engine import Conversation, Step
from handlers.menu import show_menu
from handlers.orientation_offer import ORIENT_PREFIX
from handlers.orientation_send import (
    CANCEL_PREFIX,
    cancel_button,
    confirm_options,
    confirm_question,
    edit_options,
    save_confirm,
    save_edit,
    save_schedule,
    save_summary,
    schedule_question,
    summary_options,
    summary_question,
)
from handlers.orientation_steps import (
    ORIENTATION_FLOW,
    ORIENTATION_KEPT_FOR,
    audience_options,
    board_only,
    is_board,
    photo_options,
    photo_question,
    prefilled_options,
    prefilled_question,
    save_audience,
    save_case,
    save_photo,
    save_prefilled,
    save_res_topics,
    save_res_wards,
    save_text,
    save_tier,
    save_wards,
    text_question,
    tier_options,
    topics_options,
    wards_options,
)
from handlers.text import fold, nfc, stored_id
from handlers.types import Kind

FLOW: Final = ORIENTATION_FLOW
KEEP_FOR: Final = ORIENTATION_KEPT_FOR
TEXT = frozenset({Kind.TEXT})
TEXT_OR_PHOTO = frozenset({Kind.TEXT, Kind.PHOTO})


def _ask(key: str) -> Callable[[Context, Draft], str]:
    return lambda ctx, draft: ctx.t(key)


def _none(ctx: Context, draft: Draft) -> list[Choice]:
    return []


STEPS: Final = {
    step.name: step
    for step in (
        Step("text", text_question, _none, save_text, next="photo", takes=TEXT_OR_PHOTO,
             help_key="orientation.text.help"),
        Step("prefilled", prefilled_question, prefilled_options, save_prefilled, next="photo",
             takes=TEXT_OR_PHOTO, help_key="orientation.prefilled.help"),
        Step("photo", photo_question, photo_options, save_photo, next="audience",
             takes=frozenset({Kind.PHOTO}), help_key="orientation.photo.help", back="text"),
        Step("audience", _ask("orientation.audience.ask"), audience_options, save_audience,
             next=None, help_key="orientation.audience.help", back="photo"),
        Step("tier", _ask("orientation.tier.ask"), tier_options, save_tier, next=None,
             help_key="orientation.audience.help", back="audience"),
        Step("wards", _ask("orientation.wards.ask"), wards_options, save_wards, next=None,
             help_key="orientation.wards.help", back="audience"),
        Step("res_wards", _ask("orientation.res_wards.ask"), wards_options, save_res_wards,
             next="res_topics", help_key="orientation.res_wards.help", back="audience"),
        Step("res_topics", _ask("orientation.res_topics.ask"), topics_options, save_res_topics,
             next=None, help_key="orientation.res_wards.help", back="res_wards"),
        Step("case", _ask("orientation.case.ask"), _none, save_case, next=None, takes=TEXT,
             help_key="orientation.case.help", back="audience"),
        Step("summary", summary_question, summary_options, save_summary, next=None,
             help_key="orientation.summary.help", back="audience"),
        Step("edit", _ask("orientation.edit.ask"), edit_options, save_edit, next=None,
             help_key="orientation.summary.help", back="summary"),
        Step("schedule", schedule_question, _none, save_schedule, next="confirm", takes=TEXT,
             help_key="orientation.schedule.help", back="summary"),
        Step("confirm", confirm_question, confirm_options, save_confirm, next=None,
             help_key="orientation.schedule.help", back="schedule"),
    )
}

ORIENTATION: Final = Conversation(
    FLOW, STEPS, on_leave=show_menu, keeps_draft_on_leave=False,
    cancelled_key="orientation.cancelled",
)


async def begin_orientation(ctx: Context, argument: str) -> None:
    """`/dinhhuong` (or the menu button): a new orientation, or the one being written;
    `/dinhhuong PA-…`: a new one about that case."""
    if not is_board(ctx):
        show_menu(ctx, board_only(ctx))
        return
    if argument.strip():
        code = normalise_report_code(argument)
        if code is None:
            show_menu(ctx, ctx.t("orientation.case.bad_code"))
            return
        await about_case(ctx, code)
        return
    draft = await ctx.uow.drafts.get(ctx.person.id)
    if draft is not None and draft.flow == FLOW and draft.step in STEPS:
        draft.updated_at = ctx.now  # taken up again: kept another day from now
        await ctx.uow.drafts.save(draft)
        ORIENTATION.ask(ctx, draft, prefix=ctx.t("orientation.resumed"))
        return
    if not await _may_replace(ctx, draft):
        return
    draft = Draft(ctx.person.id, FLOW, "text", {}, 0, ctx.now, ctx.now)
    await ORIENTATION.goto(ctx, draft, "text")


async def _may_replace(ctx: Context, draft: Draft | None) -> bool:
    """A person has one draft: a half-done case action gives way (and she is told); anything
    she was writing (a report, an orientation) does not."""
    if draft is None:
        return True
    if draft.data.get("case") and draft.flow != FLOW:
        ctx.say(ctx.t("orientation.dropped_action", code=draft.data["case"]))
        return True
    show_menu(ctx, ctx.t("orientation.busy" if draft.flow == FLOW else "orientation.busy_other"))
    return False


async def about_case(ctx: Context, code: str) -> None:
    """An orientation about one case: its answer as the text, its ward as the audience."""
    report = await ctx.uow.reports.by_code(code)
    if report is None:
        show_menu(ctx, ctx.t("orientation.case.unknown", code=code))
        return
    if not await _may_replace(ctx, await ctx.uow.drafts.get(ctx.person.id)):
        return
    answer = await latest_answer(ctx, report)
    audience = Audience(AudienceKind.WARDS, wards=(report.ward_code,))
    data: dict[str, object] = {"about": code, "audience": audience.to_json(), "preset": True}
    step = "text"
    if answer is not None and answer.note.strip():
        # Kept whole: the prefilled step shows its length, and offers to cut it when too long.
        data["text"] = nfc(answer.note.strip())
        step = "prefilled"
    draft = Draft(ctx.person.id, FLOW, step, data, 0, ctx.now, ctx.now)
    await ORIENTATION.goto(ctx, draft, step)


async def orientation_button(ctx: Context, payload: str) -> None:
    """Every `b:` button: relay, cancel a scheduled one, or write one about a case."""
    if payload.startswith(RELAY_PREFIX):
        await relay_button(ctx, payload)
    elif payload.startswith(CANCEL_PREFIX):
        await cancel_button(ctx, payload)
    elif payload.startswith(ORIENT_PREFIX):
        if not is_board(ctx):
            show_menu(ctx, board_only(ctx))
            return
        code = normalise_report_code(payload.removeprefix(ORIENT_PREFIX))
        if code is None:
            show_menu(ctx, ctx.t("common.invalid_choice"))
            return
        await about_case(ctx, code)
    else:
        show_menu(ctx, ctx.t("common.invalid_choice"))


# --- "đã phổ biến": a collaborator relayed an orientation to the people ---------------------
async def relay_button(ctx: Context, payload: str) -> None:
    """`b:relay:<id>`: recorded only for someone who got a relaying copy of it, once."""
    raw = payload.removeprefix(RELAY_PREFIX)
    number = stored_id(raw)
    broadcast = await ctx.uow.broadcasts.get(number) if number is not None else None
    if broadcast is None or broadcast.id is None:
        show_menu(ctx, ctx.t("relay.not_yours"))
        return
    done = await ctx.uow.broadcasts.relay(broadcast.id, ctx.person.id, ctx.now)
    if done is None:
        show_menu(ctx, ctx.t("relay.not_yours"))
    else:
        show_menu(ctx, ctx.t("relay.thanks" if done else "relay.already", code=broadcast.code))


def is_relay_keyword(ctx: Context, text: str) -> bool:
    """The reply keyword ("ĐÃ PHỔ BIẾN", any case, with or without diacritics)."""
    typed = fold(text)
    return bool(typed) and typed in {fold(k) for k in ctx.t("relay.keywords").split("|")}


async def relay_keyword(ctx: Context) -> None:
    """The keyword confirms the newest orientation she got and has not confirmed yet."""
    broadcast = await ctx.uow.broadcasts.latest_relayable(ctx.person.id)
    if broadcast is None or broadcast.id is None:
        show_menu(ctx, ctx.t("relay.nothing"))
        return
    done = await ctx.uow.broadcasts.relay(broadcast.id, ctx.person.id, ctx.now)
    key = "relay.thanks" if done else "relay.already"
    show_menu(ctx, ctx.t(key, code=broadcast.code))
