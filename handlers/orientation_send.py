"""The end of `/dinhhuong`: the preview, send now, schedule; and `/lich` to list and cancel.

Sending now stores the broadcast (scheduled for now) and launches it in the same transaction:
every recipient's copy is an outbox row when the officer reads "sent". A scheduled one is stored
and launched by the sweep when its time comes (`handlers.broadcasting.launch_due`).
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from typing import Final
from zoneinfo import ZoneInfo

from domain.broadcasts import Broadcast, BroadcastStatus, Recipient
from domain.messages import Choice, Reply
from domain.ports import Draft
from handlers.broadcasting import channel_counts_text, copy_reply, launch, next_code
from handlers.context import Context
from handlers.engine import DONE, NEXT, REASK, Answer, Rejected
from handlers.menu import show_menu
from handlers.orientation_offer import BUTTON_CHANNELS
from handlers.orientation_steps import (
    audience_of,
    audience_words,
    board_only,
    has_photo,
    is_board,
    overflow,
    too_long,
)
from handlers.text import stored_id

CANCEL_PREFIX: Final = "b:cancel:"
MAX_LISTED: Final = 20
_DATE = r"(?P<day>\d{1,2})[/.-](?P<month>\d{1,2})(?:[/.-](?P<year>\d{4}|\d{2}))?"
_TIME = r"(?P<hour>\d{1,2})(?:\s*(?:[:.hg]|giờ)\s*(?P<minute>\d{2})?)?"
# A space, a comma or a word between the date and the time: without one, "28/12" would read
# as 28/1 at 2 o'clock.
_MOMENT = (
    re.compile(rf"^\s*{_DATE}(?:\s*(?:,|lúc|luc)\s*|\s+){_TIME}\s*$", re.IGNORECASE),
    re.compile(rf"^\s*{_TIME}(?:\s*(?:,|ngày|ngay)\s*|\s+){_DATE}\s*$", re.IGNORECASE),
)


def _draft_broadcast(ctx: Context, draft: Draft) -> Broadcast:
    """The broadcast the draft describes (not stored): what the preview shows."""
    audience = audience_of(draft)
    assert audience is not None
    return Broadcast(
        id=None,
        code="",
        author_id=ctx.person.id,
        text=str(draft.data.get("text", "")),
        photo=draft.data.get("photo") or None,
        audience=audience,
        status=BroadcastStatus.SCHEDULED,
        created_at=ctx.now,
        send_at=ctx.now,
        case_code=draft.data.get("about") or audience.case_code,
    )


def _total(draft: Draft) -> int:
    return sum(int(n) for n in (draft.data.get("counts") or {}).values())


def _too_long(ctx: Context, draft: Draft) -> str | None:
    """Why the draft cannot be sent as it is (a copy would not be one API call), or None.
    Checked again on the preview and right before storing: the board's name or the catalog
    may have changed since the text was accepted."""
    text, photo = str(draft.data.get("text", "")), has_photo(draft)
    if not overflow(ctx, text, photo):
        return None
    return too_long(ctx, "orientation.summary.too_long", text, photo)


# --- preview --------------------------------------------------------------------------------
def summary_question(ctx: Context, draft: Draft) -> str:
    broadcast = _draft_broadcast(ctx, draft)
    seen = copy_reply(ctx.services, broadcast, Recipient(0, "", "", relays=False))
    if broadcast.photo:  # the photo itself, right above the preview
        ctx.replies.append(Reply(text="", photos=(broadcast.photo,)))
    counts = {str(k): int(v) for k, v in (draft.data.get("counts") or {}).items()}
    total = _total(draft)
    text = ctx.t(
        "orientation.summary.ask",
        copy=seen.text,
        audience=audience_words(ctx, broadcast.audience),
        total=total,
        channels=channel_counts_text(ctx.services, counts),
    )
    if broadcast.photo:
        text += "\n" + ctx.t("orientation.summary.with_photo")
    refusal = _too_long(ctx, draft)
    if refusal is not None:
        return text + "\n" + refusal
    return text + "\n" + ctx.t(
        "orientation.summary.nobody" if total == 0 else "orientation.summary.choose"
    )


def summary_options(ctx: Context, draft: Draft) -> list[Choice]:
    if _too_long(ctx, draft) is not None:
        return [Choice("edit", ctx.t("orientation.summary.edit"))]
    if _total(draft) == 0:
        return [
            Choice("audience", ctx.t("orientation.summary.change_audience")),
            Choice("edit", ctx.t("orientation.summary.edit")),
        ]
    return [
        Choice("send", ctx.t("orientation.summary.send")),
        Choice("schedule", ctx.t("orientation.summary.schedule")),
        Choice("edit", ctx.t("orientation.summary.edit")),
    ]


async def save_summary(ctx: Context, draft: Draft, answer: Answer) -> str:
    if answer.choice == "audience":
        draft.data["editing"] = True
        return "audience"
    if answer.choice in ("send", "schedule") and _too_long(ctx, draft) is not None:
        return REASK  # the preview again, saying why and offering «Sửa»
    if answer.choice != "send":
        return str(answer.choice)  # "schedule", "edit"
    stored = await _store(ctx, draft, ctx.now)
    if stored is None:
        return DONE
    launched = await launch(ctx.uow, ctx.services, stored, ctx.now)
    show_menu(ctx, ctx.t("orientation.sent", code=stored.code, count=launched or 0))
    return DONE


async def _store(ctx: Context, draft: Draft, send_at: datetime) -> Broadcast | None:
    """The broadcast, stored as scheduled for `send_at`; the draft is over either way (unless
    its text no longer fits: refused, the draft stays for the officer to shorten it)."""
    refusal = _too_long(ctx, draft)
    if refusal is not None:
        raise Rejected(refusal)
    await ctx.uow.drafts.delete(draft.person_id)
    if not is_board(ctx):  # no longer a board officer since the draft began
        show_menu(ctx, board_only(ctx))
        return None
    broadcast = _draft_broadcast(ctx, draft)
    broadcast.code = await next_code(ctx.uow, ctx.now)
    broadcast.send_at = send_at
    return await ctx.uow.broadcasts.add(broadcast)


# --- edit -----------------------------------------------------------------------------------
EDITABLE: Final = ("text", "photo", "audience")


def edit_options(ctx: Context, draft: Draft) -> list[Choice]:
    return [Choice(name, ctx.t(f"orientation.edit.{name}")) for name in EDITABLE]


async def save_edit(ctx: Context, draft: Draft, answer: Answer) -> str:
    draft.data["editing"] = True
    return str(answer.choice)


# --- schedule -------------------------------------------------------------------------------
def schedule_question(ctx: Context, draft: Draft) -> str:
    return ctx.t("orientation.schedule.ask")


async def save_schedule(ctx: Context, draft: Draft, answer: Answer) -> str:
    moment = typed_moment(ctx, answer.text or "")
    draft.data["send_at"] = moment.isoformat()
    return NEXT


def typed_moment(ctx: Context, text: str) -> datetime:
    """'28/11 08:00', '28/11/2026 8:00', '8h30 28/11': in the organisation's time zone, after
    now. Without a year: this year, or next year for a day already gone (a January date typed in
    December); the confirmation shows the year."""
    tz = ZoneInfo(ctx.org.working_time.timezone)
    found = next((m for p in _MOMENT if (m := p.match(text.strip()))), None)
    if found is None:
        raise Rejected(ctx.t("orientation.schedule.bad", text=text.strip()[:40]))
    today = ctx.now.astimezone(tz).date()
    try:
        year = int(found["year"]) if found["year"] else today.year
        year += 2000 if year < 100 else 0
        day = date(year, int(found["month"]), int(found["day"]))
        if found["year"] is None and day < today:
            day = date(year + 1, day.month, day.day)
        clock = time(int(found["hour"]), int(found["minute"] or 0))
    except (ValueError, OverflowError):
        raise Rejected(ctx.t("orientation.schedule.bad", text=text.strip()[:40])) from None
    moment = datetime.combine(day, clock, tzinfo=tz)
    if moment <= ctx.now:
        raise Rejected(ctx.t("orientation.schedule.past", when=ctx.local_time(moment)))
    return moment


def _send_at(draft: Draft) -> datetime:
    return datetime.fromisoformat(str(draft.data["send_at"]))


def confirm_question(ctx: Context, draft: Draft) -> str:
    audience = audience_of(draft)
    assert audience is not None
    return ctx.t(
        "orientation.confirm.ask",
        when=ctx.local_time(_send_at(draft)),
        audience=audience_words(ctx, audience),
        total=_total(draft),
    )


def confirm_options(ctx: Context, draft: Draft) -> list[Choice]:
    return [Choice("confirm", ctx.t("orientation.confirm.button"))]


async def save_confirm(ctx: Context, draft: Draft, answer: Answer) -> str:
    send_at = _send_at(draft)
    if _too_long(ctx, draft) is not None:
        return "summary"  # the preview again, saying why and offering «Sửa»
    if send_at <= ctx.now:  # the moment passed while she was deciding
        raise Rejected(ctx.t("orientation.schedule.past", when=ctx.local_time(send_at)))
    stored = await _store(ctx, draft, send_at)
    if stored is not None:
        show_menu(ctx, ctx.t("orientation.scheduled", code=stored.code,
                             when=ctx.local_time(send_at)))
    return DONE


# --- /lich and cancelling -------------------------------------------------------------------
async def list_scheduled(ctx: Context, argument: str) -> None:
    if not is_board(ctx):
        show_menu(ctx, board_only(ctx))
        return
    waiting = await ctx.uow.broadcasts.with_status(BroadcastStatus.SCHEDULED)
    if not waiting:
        show_menu(ctx, ctx.t("orientation.lich.empty"))
        return
    ctx.say(ctx.t("orientation.lich.header", count=len(waiting)))
    buttons = ctx.incoming.channel in BUTTON_CHANNELS
    for broadcast in waiting[:MAX_LISTED]:
        text = ctx.t(
            "orientation.lich.item",
            code=broadcast.code,
            when=ctx.local_time(broadcast.send_at),
            audience=audience_words(ctx, broadcast.audience),
            first_line=_first_line(broadcast.text),
        )
        if buttons:
            label = ctx.t("orientation.lich.cancel_button", code=broadcast.code)
            ctx.say(text, (Choice(f"{CANCEL_PREFIX}{broadcast.id}", label),))
        else:
            ctx.say(f"{text}\n{ctx.t('orientation.lich.cancel_command', code=broadcast.code)}")
    if len(waiting) > MAX_LISTED:
        ctx.say(ctx.t("orientation.lich.more", count=len(waiting) - MAX_LISTED))


def _first_line(text: str, limit: int = 80) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


async def cancel_button(ctx: Context, payload: str) -> None:
    """`b:cancel:<id>`, forgeable like any button: board officers only, scheduled ones only."""
    if not is_board(ctx):
        show_menu(ctx, board_only(ctx))
        return
    raw = payload.removeprefix(CANCEL_PREFIX)
    number = stored_id(raw)
    broadcast = await ctx.uow.broadcasts.get(number) if number is not None else None
    await _cancel(ctx, broadcast)


async def cancel_by_command(ctx: Context, argument: str) -> None:
    """`/huylich DH-2026-000001`: the cancel button, typed (Zalo)."""
    if not is_board(ctx):
        show_menu(ctx, board_only(ctx))
        return
    code = argument.strip().upper()
    if not code:
        show_menu(ctx, ctx.t("orientation.cancel.bad_code"))
        return
    await _cancel(ctx, await ctx.uow.broadcasts.by_code(code))


async def _cancel(ctx: Context, broadcast: Broadcast | None) -> None:
    if broadcast is None or broadcast.id is None:
        show_menu(ctx, ctx.t("orientation.cancel.unknown"))
        return
    if await ctx.uow.broadcasts.set_status_if(
        broadcast.id, BroadcastStatus.SCHEDULED, BroadcastStatus.CANCELLED, ctx.now
    ):
        show_menu(ctx, ctx.t("orientation.cancel.done", code=broadcast.code))
        return
    now = await ctx.uow.broadcasts.get(broadcast.id)
    already = now is not None and now.status is BroadcastStatus.CANCELLED
    key = "orientation.cancel.already_cancelled" if already else "orientation.cancel.already_sent"
    show_menu(ctx, ctx.t(key, code=broadcast.code))
