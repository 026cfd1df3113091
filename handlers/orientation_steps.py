"""What the steps of `/dinhhuong` ask and keep up to the preview (the table: orientation.py).

The draft holds `text`, `photo` (sha256 or None), the `audience` (`Audience.to_json`), the wards
and topics being picked, `about` (the case an orientation is written about) and the preview's
`counts` per channel, computed when the preview is reached (a question cannot wait on storage).
"""

from __future__ import annotations

from typing import Final

from domain.broadcasts import Audience, AudienceKind, Tier
from domain.messages import Choice
from domain.people import Role
from domain.ports import Draft
from domain.reports import normalise_report_code
from handlers.broadcasting import count_by_channel, plan
from handlers.context import Context
from handlers.engine import NEXT, REASK, Answer, Rejected, typed_text
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
def text_question(ctx: Context, draft: Draft) -> str:
    return ctx.t("orientation.text.ask", limit=ctx.settings.max_text_chars)


async def save_text(ctx: Context, draft: Draft, answer: Answer) -> str:
    if answer.media is not None:  # a photo: its caption is the text
        caption = ctx.incoming.text.strip()
        if not caption:
            raise Rejected(ctx.t("orientation.text.photo_needs_caption"))
        draft.data["text"] = typed_text(ctx, caption, ctx.settings.max_text_chars)
        draft.data["photo"] = answer.media.sha256
        if draft.data.get("editing"):
            return NEXT
        return await after_photo(ctx, draft)
    draft.data["text"] = typed_text(ctx, answer.text, ctx.settings.max_text_chars)
    return NEXT


def prefilled_question(ctx: Context, draft: Draft) -> str:
    return ctx.t(
        "orientation.prefilled.ask",
        code=draft.data.get("about", ""),
        text=draft.data.get("text", ""),
        limit=ctx.settings.max_text_chars,
    )


def prefilled_options(ctx: Context, draft: Draft) -> list[Choice]:
    return [Choice("use", ctx.t("orientation.prefilled.use"))]


async def save_prefilled(ctx: Context, draft: Draft, answer: Answer) -> str:
    if answer.choice == "use":
        return NEXT
    return await save_text(ctx, draft, answer)


# --- photo ----------------------------------------------------------------------------------
def photo_question(ctx: Context, draft: Draft) -> str:
    return ctx.t("orientation.photo.kept" if draft.data.get("photo") else "orientation.photo.ask")


def photo_options(ctx: Context, draft: Draft) -> list[Choice]:
    if draft.data.get("photo"):
        return [
            Choice("keep", ctx.t("orientation.photo.keep")),
            Choice("drop", ctx.t("orientation.photo.drop")),
        ]
    return [Choice("skip", ctx.t("orientation.photo.skip"))]


async def save_photo(ctx: Context, draft: Draft, answer: Answer) -> str:
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
