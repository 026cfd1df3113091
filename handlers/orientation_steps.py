"""What the steps of `/dinhhuong` ask and keep up to the preview (the table: orientation.py).

The draft holds `text`, `photo` (sha256 or None), the `audience` (`Audience.to_json`), the wards
and topics being picked, `about` (the case an orientation is written about) and the preview's
`counts` per channel, computed when the preview is reached (a question cannot wait on storage).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from domain.broadcasts import Audience, AudienceKind, Tier
from domain.messages import Choice
from domain.people import Role
from domain.ports import Draft
from domain.reports import normalise_report_code
from handlers.broadcasting import (
    board_name,
    copy_budget,
    copy_overflow,
    count_by_channel,
    plan,
)
from handlers.context import Context
from handlers.engine import NEXT, REASK, Answer, Rejected
from handlers.text import nfc
from handlers.toggles import (
    DONE_KEY,
    all_choice,
    done_choice,
    labels,
    toggle,
    toggle_choices,
    topic_items,
    ward_items,
)

ORIENTATION_FLOW: Final = "orient"  # the draft's flow while an orientation is being written
# Writing an orientation may take a while (the text is often written elsewhere and pasted):
# the draft is kept this long between two steps, where a staff action is dropped after 30 min.
ORIENTATION_KEPT_FOR: Final = timedelta(hours=24)
SUMMARY: Final = "summary"  # the engine returns there after an edit
AUDIENCE_KEYS: Final = ("collaborators", "tier", "wards", "residents", "case")
# The step each audience button leads to (collaborators need nothing more).
AUDIENCE_STEPS: Final = {
    "tier": "tier", "wards": "wards", "residents": "res_wards", "case": "case",
}
AUD_WARDS: Final = "aud_wards"
AUD_TOPICS: Final = "aud_topics"


def is_board(ctx: Context) -> bool:
    return ctx.person.role is Role.BOARD


def board_only(ctx: Context) -> str:
    """The refusal to anyone but a board officer, naming the configured board."""
    return ctx.t("orientation.board_only", board=board_name(ctx.services))


def audience_of(draft: Draft) -> Audience | None:
    raw = draft.data.get("audience")
    return Audience.from_json(raw) if isinstance(raw, dict) else None


def audience_words(ctx: Context, audience: Audience) -> str:
    """The audience as the officer reads it in the preview and in `/lich`."""
    kind = audience.kind
    if kind is AudienceKind.TIER and audience.tier is not None:
        return ctx.t("orientation.words.tier", tier=ctx.t(f"orientation.tier.{audience.tier}"))
    if kind is AudienceKind.WARDS:
        return ctx.t("orientation.words.wards", wards=labels(ctx, audience.wards))
    if kind is AudienceKind.RESIDENTS:
        parts = []
        if audience.wards:
            parts.append(ctx.t("orientation.words.of_wards", wards=labels(ctx, audience.wards)))
        if audience.topics:
            topics = labels(ctx, audience.topics, topics=True)
            parts.append(ctx.t("orientation.words.of_topics", topics=topics))
        return ctx.t("orientation.words.residents", what=ctx.t("orientation.words.or").join(parts))
    if kind is AudienceKind.CASE:
        return ctx.t("orientation.words.case", code=audience.case_code or "—")
    return ctx.t("orientation.words.collaborators")


async def to_preview(ctx: Context, draft: Draft, audience: Audience) -> str:
    """Keep the audience, count who it reaches right now per channel, show the preview."""
    draft.data["audience"] = audience.to_json()
    recipients = await plan(ctx.uow, ctx.services, audience, ctx.person.id)
    draft.data["counts"] = count_by_channel(recipients)
    draft.data.pop("editing", None)
    return SUMMARY


# --- text -----------------------------------------------------------------------------------
# Every copy must go out as one API call (handlers.broadcasting.copy_budget): a text is refused
# when its longest copy would not fit, and a photo when the text is too long for a caption.
def has_photo(draft: Draft) -> bool:
    return bool(draft.data.get("photo"))


def overflow(ctx: Context, text: str, photo: bool) -> int:
    return copy_overflow(ctx.services, text, photo)


def too_long(ctx: Context, key: str, measured: str, photo: bool, **values: object) -> str:
    """The refusal `key`, with the length of `measured` and the most a copy can take (the
    length in the units of the channel that binds, so cutting the difference always fits)."""
    limit = copy_budget(ctx.services, photo)
    return ctx.t(key, length=limit + overflow(ctx, measured, photo), limit=limit, **values)


def text_question(ctx: Context, draft: Draft) -> str:
    photo = has_photo(draft) and bool(draft.data.get("editing"))
    return ctx.t("orientation.text.ask", limit=copy_budget(ctx.services, photo))


def _typed(ctx: Context, raw: str | None) -> str:
    text = nfc((raw or "").strip())
    if not text:
        raise Rejected(ctx.t("common.not_understood"))
    return text


async def save_text(ctx: Context, draft: Draft, answer: Answer) -> str:
    if answer.media is not None:  # a photo: its caption is the text
        caption = nfc(ctx.incoming.text.strip())
        if not caption:
            raise Rejected(ctx.t("orientation.text.photo_needs_caption"))
        if overflow(ctx, caption, photo=True):
            raise Rejected(too_long(ctx, "orientation.text.caption_too_long", caption, True,
                                    text_limit=copy_budget(ctx.services, False)))
        draft.data["text"] = caption
        draft.data["photo"] = answer.media.sha256
        if draft.data.get("editing"):
            return NEXT
        return await after_photo(ctx, draft)
    text = _typed(ctx, answer.text)
    # Going on to the photo step, the photo is chosen there; while editing, the preview is next.
    photo = has_photo(draft) and bool(draft.data.get("editing"))
    if overflow(ctx, text, photo):
        fits_alone = photo and not overflow(ctx, text, photo=False)
        key = "orientation.text.too_long_photo" if fits_alone else "orientation.text.too_long"
        raise Rejected(too_long(ctx, key, text, photo))
    draft.data["text"] = text
    return NEXT


def prefilled_question(ctx: Context, draft: Draft) -> str:
    text = str(draft.data.get("text", ""))
    code = draft.data.get("about", "")
    if overflow(ctx, text, photo=False):
        return too_long(ctx, "orientation.prefilled.ask_too_long", text, False, code=code,
                        text=text)
    limit = copy_budget(ctx.services, False)
    return ctx.t("orientation.prefilled.ask", code=code, text=text, limit=limit)


def prefilled_options(ctx: Context, draft: Draft) -> list[Choice]:
    if overflow(ctx, str(draft.data.get("text", "")), photo=False):
        limit = copy_budget(ctx.services, False)
        return [Choice("cut", ctx.t("orientation.prefilled.cut", limit=limit))]
    return [Choice("use", ctx.t("orientation.prefilled.use"))]


async def save_prefilled(ctx: Context, draft: Draft, answer: Answer) -> str:
    text = str(draft.data.get("text", ""))
    if answer.choice == "use":
        if overflow(ctx, text, photo=False):  # the limits changed since the question
            raise Rejected(too_long(ctx, "orientation.text.too_long", text, False))
        return NEXT
    if answer.choice == "cut":
        draft.data["text"] = cut_to_fit(ctx, text, photo=False)
        ctx.say(ctx.t("orientation.prefilled.was_cut", length=len(draft.data["text"])))
        return NEXT
    return await save_text(ctx, draft, answer)


def cut_to_fit(ctx: Context, text: str, photo: bool) -> str:
    """The beginning of `text`, cut after a word and ended with "…", short enough to fit."""
    text = nfc(text.strip())
    while overflow(ctx, text, photo):
        keep = max(0, len(text) - overflow(ctx, text, photo) - 1)
        head = text[:keep]
        space = max(head.rfind(" "), head.rfind("\n"))
        if space > keep // 2:
            head = head[:space]
        text = head.rstrip(" \n,;:.-") + "…"
    return text


# --- photo ----------------------------------------------------------------------------------
def _no_room_for_photo(ctx: Context, draft: Draft) -> bool:
    return overflow(ctx, str(draft.data.get("text", "")), photo=True) > 0


def photo_question(ctx: Context, draft: Draft) -> str:
    text = str(draft.data.get("text", ""))
    if _no_room_for_photo(ctx, draft):
        kept = has_photo(draft)
        key = "orientation.photo.kept_too_long" if kept else "orientation.photo.too_long"
        return too_long(ctx, key, text, True)
    return ctx.t("orientation.photo.kept" if has_photo(draft) else "orientation.photo.ask")


def photo_options(ctx: Context, draft: Draft) -> list[Choice]:
    if has_photo(draft):
        drop = Choice("drop", ctx.t("orientation.photo.drop"))
        if _no_room_for_photo(ctx, draft):
            return [drop]
        return [Choice("keep", ctx.t("orientation.photo.keep")), drop]
    return [Choice("skip", ctx.t("orientation.photo.skip"))]


async def save_photo(ctx: Context, draft: Draft, answer: Answer) -> str:
    if answer.media is not None or answer.choice == "keep":
        if _no_room_for_photo(ctx, draft):
            text = str(draft.data.get("text", ""))
            raise Rejected(too_long(ctx, "orientation.photo.refused", text, True))
        if answer.media is not None:
            draft.data["photo"] = answer.media.sha256
    elif answer.choice in ("skip", "drop"):
        draft.data["photo"] = None
    if draft.data.get("editing"):
        return NEXT
    return await after_photo(ctx, draft)


async def after_photo(ctx: Context, draft: Draft) -> str:
    """On to the audience; an orientation about a case already has one (its ward): preview."""
    preset = audience_of(draft) if draft.data.pop("preset", False) else None
    if preset is not None:
        return await to_preview(ctx, draft, preset)
    return "audience"


# --- audience -------------------------------------------------------------------------------
def audience_options(ctx: Context, draft: Draft) -> list[Choice]:
    return [Choice(key, ctx.t(f"orientation.audience.{key}")) for key in AUDIENCE_KEYS]


async def save_audience(ctx: Context, draft: Draft, answer: Answer) -> str:
    if answer.choice == "collaborators":
        return await to_preview(ctx, draft, Audience(AudienceKind.COLLABORATORS))
    current = audience_of(draft)
    if answer.choice in ("wards", "residents") and current is not None:
        # Start from what was chosen before (the case's ward, or an earlier pick).
        draft.data.setdefault(AUD_WARDS, list(current.wards))
        draft.data.setdefault(AUD_TOPICS, list(current.topics))
    return AUDIENCE_STEPS[str(answer.choice)]


def tier_options(ctx: Context, draft: Draft) -> list[Choice]:
    return [Choice(tier.value, ctx.t(f"orientation.tier.{tier.value}")) for tier in Tier]


async def save_tier(ctx: Context, draft: Draft, answer: Answer) -> str:
    return await to_preview(ctx, draft, Audience(AudienceKind.TIER, tier=Tier(str(answer.choice))))


def _ward_codes(ctx: Context) -> list[str]:
    return [code for code, _ in ward_items(ctx)]


def _topic_codes(ctx: Context) -> list[str]:
    return [code for code, _ in topic_items(ctx)]


def wards_options(ctx: Context, draft: Draft) -> list[Choice]:
    return [*toggle_choices(ctx, draft, AUD_WARDS, ward_items(ctx)), done_choice(ctx)]


async def save_wards(ctx: Context, draft: Draft, answer: Answer) -> str:
    if answer.choice != DONE_KEY:
        toggle(draft, AUD_WARDS, str(answer.choice), _ward_codes(ctx))
        return REASK
    wards = tuple(draft.data.get(AUD_WARDS) or ())
    if not wards:
        raise Rejected(ctx.t("orientation.wards.none"))
    return await to_preview(ctx, draft, Audience(AudienceKind.WARDS, wards=wards))


async def save_res_wards(ctx: Context, draft: Draft, answer: Answer) -> str:
    if answer.choice != DONE_KEY:
        toggle(draft, AUD_WARDS, str(answer.choice), _ward_codes(ctx))
        return REASK
    return "res_topics"


def topics_options(ctx: Context, draft: Draft) -> list[Choice]:
    items = topic_items(ctx)
    return [
        all_choice(ctx, draft, AUD_TOPICS, _topic_codes(ctx)),
        *toggle_choices(ctx, draft, AUD_TOPICS, items),
        done_choice(ctx),
    ]


async def save_res_topics(ctx: Context, draft: Draft, answer: Answer) -> str:
    if answer.choice != DONE_KEY:
        toggle(draft, AUD_TOPICS, str(answer.choice), _topic_codes(ctx))
        return REASK
    wards = tuple(draft.data.get(AUD_WARDS) or ())
    topics = tuple(draft.data.get(AUD_TOPICS) or ())
    if not wards and not topics:
        raise Rejected(ctx.t("orientation.res_topics.none"))
    audience = Audience(AudienceKind.RESIDENTS, wards=wards, topics=topics)
    return await to_preview(ctx, draft, audience)


async def save_case(ctx: Context, draft: Draft, answer: Answer) -> str:
    code = normalise_report_code(answer.text or "")
    if code is None:
        raise Rejected(ctx.t("orientation.case.bad_code"))
    if await ctx.uow.reports.by_code(code) is None:
        raise Rejected(ctx.t("orientation.case.unknown", code=code))
    return await to_preview(ctx, draft, Audience(AudienceKind.CASE, case_code=code))
