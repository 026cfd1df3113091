"""What each step of the intake conversation asks, offers and keeps (the table is in intake.py)."""

from __future__ import annotations

from typing import Final

from domain.messages import Choice
from domain.people import REPORTING_ROLES
from domain.ports import Draft
from domain.reports import Urgency
from handlers.context import Context
from handlers.engine import (
    DONE,
    LOCATION_CHANNELS,
    NEXT,
    REASK,
    STAY,
    Answer,
    typed_text,
)
from handlers.menu import show_menu
from handlers.presenting import place_text
from handlers.submit import submit_report

FIELDS: Final = ("category", "ward", "place", "description", "photos", "urgency")


# --- category ---------------------------------------------------------------------------------
def category_options(ctx: Context, draft: Draft) -> list[Choice]:
    return [Choice(c.code, c.name) for c in ctx.org.categories]


async def save_category(ctx: Context, draft: Draft, answer: Answer) -> str:
    draft.data["category"] = answer.choice
    return NEXT


# --- ward -------------------------------------------------------------------------------------
def _own_ward(ctx: Context) -> str | None:
    code = ctx.person.unit_code
    return code if code and any(w.code == code for w in ctx.org.wards) else None


def ward_question(ctx: Context, draft: Draft) -> str:
    own = _own_ward(ctx)
    if own is None:
        return ctx.t("intake.ward.ask")
    label = ctx.unit_label(own)
    return ctx.t("intake.ward.ask_own", ward=label, keep=ctx.t("intake.ward.keep", ward=label))


def ward_options(ctx: Context, draft: Draft) -> list[Choice]:
    own = _own_ward(ctx)
    label = ctx.unit_label(own) if own else ""
    keep = [Choice(own, ctx.t("intake.ward.keep", ward=label), typed=(label,))] if own else []
    return keep + [Choice(w.code, w.label) for w in ctx.org.wards if w.code != own]


async def save_ward(ctx: Context, draft: Draft, answer: Answer) -> str:
    draft.data["ward"] = answer.choice
    return NEXT


# --- place ------------------------------------------------------------------------------------
def place_question(ctx: Context, draft: Draft) -> str:
    shares = ctx.incoming.channel in LOCATION_CHANNELS
    return ctx.t("intake.place.ask" if shares else "intake.place.ask_typed")


async def save_place(ctx: Context, draft: Draft, answer: Answer) -> str:
    if answer.location is not None:
        draft.data["location"] = [answer.location.latitude, answer.location.longitude]
        draft.data["address"] = None
        noted = ctx.t("intake.place.noted_location")
    else:
        address = typed_text(ctx, answer.text, ctx.settings.max_address_chars)
        draft.data["address"], draft.data["location"] = address, None
        noted = ctx.t("intake.place.noted_address", address=address)
    if ctx.incoming.channel in LOCATION_CHANNELS:
        # The «📍» keyboard stays under a typed answer (and in reach after a tap) until a
        # message takes it away; the next question carries inline buttons, so it cannot.
        ctx.say(noted, hide_keyboard=True)
    return NEXT


# --- description ------------------------------------------------------------------------------
def description_question(ctx: Context, draft: Draft) -> str:
    return ctx.t("intake.description.ask", limit=ctx.settings.max_text_chars)


async def save_description(ctx: Context, draft: Draft, answer: Answer) -> str:
    if answer.media is not None:
        draft.data["voice"] = _media_json(answer)
        draft.data["description"] = ""
        return NEXT
    draft.data["description"] = typed_text(ctx, answer.text, ctx.settings.max_text_chars)
    draft.data["voice"] = None
    return NEXT


# --- photos ---------------------------------------------------------------------------------
def photos_question(ctx: Context, draft: Draft) -> str:
    count, limit = len(draft.data.get("photos", [])), ctx.settings.max_photos
    if draft.data.get("photos_refused"):
        return ctx.t("intake.photos.too_many", limit=limit)
    if count >= limit:
        return ctx.t("intake.photos.full", limit=limit)
    if count:
        # The reply to an album comes after its first photo: the count would be wrong.
        key = (
            "intake.photos.received_album" if draft.data.get("album") else "intake.photos.received"
        )
        return ctx.t(key, count=count, limit=limit)
    return ctx.t("intake.photos.ask", limit=limit)


def photos_options(ctx: Context, draft: Draft) -> list[Choice]:
    done = [Choice("done", ctx.t("intake.photos.done"))]
    if draft.data.get("photos"):
        done.append(Choice("clear", ctx.t("intake.photos.clear")))
    return done


async def save_photo(ctx: Context, draft: Draft, answer: Answer) -> str:
    if answer.choice in ("done", "clear"):
        draft.data.pop("album", None)
        draft.data.pop("photos_refused", None)
        if answer.choice == "clear":
            draft.data["photos"] = []
            return REASK
        return NEXT
    photos: list[dict[str, object]] = draft.data.setdefault("photos", [])
    # An album arrives as several updates: answer its first photo only, and refuse extra
    # photos once per album rather than once per photo.
    same_album = answer.album_id is not None and draft.data.get("album") == answer.album_id
    draft.data["album"] = answer.album_id
    if len(photos) >= ctx.settings.max_photos:
        already_refused = same_album and draft.data.get("photos_refused")
        draft.data["photos_refused"] = True
        return STAY if already_refused else REASK
    photos.append(_media_json(answer))
    draft.data["photos_refused"] = False
    return STAY if same_album else REASK


# --- urgency ----------------------------------------------------------------------------------
def urgency_options(ctx: Context, draft: Draft) -> list[Choice]:
    return [Choice(u.value, ctx.t(f"intake.urgency.{u.value}")) for u in Urgency]


async def save_urgency(ctx: Context, draft: Draft, answer: Answer) -> str:
    draft.data["urgency"] = answer.choice
    return NEXT


# --- summary, edit, resume --------------------------------------------------------------------
def summary_question(ctx: Context, draft: Draft) -> str:
    data = draft.data
    description = data.get("description") or ""
    if data.get("voice"):
        voice = ctx.t("intake.description.voice")
        description = f"{description} ({voice})" if description else voice
    return ctx.t(
        "intake.summary.ask",
        category=ctx.category_label(data.get("category", "")),
        ward=ctx.unit_label(data.get("ward")),
        place=place_text(ctx, data.get("address"), data.get("location")),
        description=description,
        photos=len(data.get("photos", [])),
        urgency=ctx.t(f"intake.urgency.{data.get('urgency', 'normal')}"),
    )


def summary_options(ctx: Context, draft: Draft) -> list[Choice]:
    return [
        Choice("send", ctx.t("intake.summary.send")),
        Choice("edit", ctx.t("intake.summary.edit")),
    ]


async def save_summary(ctx: Context, draft: Draft, answer: Answer) -> str:
    if answer.choice == "edit":
        return "edit"
    if ctx.person.role not in REPORTING_ROLES:  # her role changed since she began
        await ctx.uow.drafts.delete(draft.person_id)
        show_menu(ctx, ctx.t("common.reporters_only"))
        return DONE
    await submit_report(ctx, draft)
    return DONE


def edit_options(ctx: Context, draft: Draft) -> list[Choice]:
    return [Choice(name, ctx.t(f"intake.{name}.title").capitalize()) for name in FIELDS]


async def save_edit(ctx: Context, draft: Draft, answer: Answer) -> str:
    draft.data["editing"] = True
    return answer.choice or "summary"


def resume_question(ctx: Context, draft: Draft) -> str:
    step = draft.data.get("resume_step", "category")
    title_key = f"intake.{step}.title"
    title = ctx.t(title_key) if ctx.services.catalog.has(title_key) else step
    return ctx.t("intake.resume.ask", step=title)


def resume_options(ctx: Context, draft: Draft) -> list[Choice]:
    return [
        Choice("continue", ctx.t("intake.resume.continue")),
        Choice("discard", ctx.t("intake.resume.discard")),
    ]


async def save_resume(ctx: Context, draft: Draft, answer: Answer) -> str:
    if answer.choice == "discard":
        await ctx.uow.drafts.delete(draft.person_id)
        ctx.say(ctx.t("common.cancelled"))
        show_menu(ctx)
        return DONE
    return str(draft.data.pop("resume_step", "category"))


# --- helpers ----------------------------------------------------------------------------------
def _media_json(answer: Answer) -> dict[str, object]:
    media = answer.media
    assert media is not None
    return {
        "sha256": media.sha256,
        "kind": media.kind.value,
        "mime": media.mime,
        "size": media.size,
    }


