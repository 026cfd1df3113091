"""Residents choose the orientation they hear about: `/theodoi`, and `/huytheodoi` to stop.

| step   | asks                                   | takes                               | next    |
|--------|----------------------------------------|-------------------------------------|---------|
| wards  | which wards (what they follow is ✅)    | ward toggles, «Xong»                | topics  |
| topics | which topics (the org's categories)    | topic toggles, «Tất cả chủ đề», «Xong» | saved |

Saving needs at least one ward or topic. A resident follows an orientation sent to residents when
it names one of her wards *or* one of her topics (`domain.broadcasts`). Copies already queued for
her that no longer match are cancelled; `/huytheodoi` cancels every copy still queued for her.
Staff (collaborators, handlers, board officers) receive orientation for their ward or level
without subscribing.
"""

from __future__ import annotations

from typing import Final

from domain.broadcasts import AudienceKind, CaseConcern, Member, select_recipients
from domain.messages import Choice
from domain.people import Role
from domain.ports import Draft
from handlers.broadcasting import hold_audiences
from handlers.context import Context
from handlers.engine import DONE, NEXT, REASK, Answer, Conversation, Rejected, Step
from handlers.menu import show_menu
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
from handlers.verification import settle_not_yet

FLOW: Final = "follow"
WARDS: Final = "wards"
TOPICS: Final = "topics"
OPT_OUT: Final = "opted out"  # why a queued copy was cancelled (the outbox row's last error)


def staff_note(ctx: Context) -> str:
    """Staff need not subscribe: said to them instead of the resident's steps."""
    return ctx.t("follow.staff", role=ctx.t(f"role.{ctx.person.role.value}"))


async def begin_following(ctx: Context, argument: str) -> None:
    if ctx.person.role is not Role.RESIDENT:
        show_menu(ctx, staff_note(ctx))
        return
    wards, topics = await ctx.uow.subscriptions.of(ctx.person.id)
    data = {
        WARDS: [code for code, _ in ward_items(ctx) if code in wards],
        TOPICS: [code for code, _ in topic_items(ctx) if code in topics],
    }
    await settle_not_yet(ctx)
    draft = Draft(ctx.person.id, FLOW, WARDS, data, 0, ctx.now, ctx.now)
    await FOLLOWING.goto(ctx, draft, WARDS)


async def stop_following(ctx: Context, argument: str) -> None:
    """`/huytheodoi`: nothing followed any more, and nothing still queued is sent."""
    if ctx.person.role is not Role.RESIDENT:
        show_menu(ctx, staff_note(ctx))
        return
    draft = await ctx.uow.drafts.get(ctx.person.id)
    if draft is not None and draft.flow == FLOW:
        await ctx.uow.drafts.delete(ctx.person.id)
    await hold_audiences(ctx.uow)
    had = await ctx.uow.subscriptions.clear(ctx.person.id)
    pending = await ctx.uow.broadcasts.pending_copies(ctx.person.id)
    cancelled = await ctx.uow.outbox.cancel([p.outbox_id for p in pending], ctx.now, OPT_OUT)
    show_menu(ctx, ctx.t("follow.stopped" if had or cancelled else "follow.not_following"))


# --- the steps ------------------------------------------------------------------------------
def _ward_options(ctx: Context, draft: Draft) -> list[Choice]:
    return [*toggle_choices(ctx, draft, WARDS, ward_items(ctx)), done_choice(ctx)]


async def _save_wards(ctx: Context, draft: Draft, answer: Answer) -> str:
    if answer.choice == DONE_KEY:
        return NEXT
    toggle(draft, WARDS, str(answer.choice), [code for code, _ in ward_items(ctx)])
    return REASK


def _topic_options(ctx: Context, draft: Draft) -> list[Choice]:
    items = topic_items(ctx)
    return [
        all_choice(ctx, draft, TOPICS, [code for code, _ in items]),
        *toggle_choices(ctx, draft, TOPICS, items),
        done_choice(ctx),
    ]


async def _save_topics(ctx: Context, draft: Draft, answer: Answer) -> str:
    if answer.choice != DONE_KEY:
        toggle(draft, TOPICS, str(answer.choice), [code for code, _ in topic_items(ctx)])
        return REASK
    wards, topics = draft.data.get(WARDS) or [], draft.data.get(TOPICS) or []
    if not wards and not topics:
        raise Rejected(ctx.t("follow.topics.none"))
    await ctx.uow.drafts.delete(draft.person_id)
    if ctx.person.role is not Role.RESIDENT:  # invited in the meantime
        show_menu(ctx, staff_note(ctx))
        return DONE
    await hold_audiences(ctx.uow)
    await ctx.uow.subscriptions.replace(ctx.person.id, wards, topics, ctx.now)
    await cancel_unmatched(ctx, frozenset(wards), frozenset(topics))
    nothing = ctx.t("follow.nothing")
    show_menu(ctx, ctx.t(
        "follow.saved",
        wards=labels(ctx, wards) or nothing,
        topics=labels(ctx, topics, topics=True) or nothing,
    ))
    return DONE


async def cancel_unmatched(ctx: Context, wards: frozenset[str], topics: frozenset[str]) -> int:
    """Cancel the queued copies of orientation to residents she no longer follows (the same
    rule that chose her, `select_recipients`, run again on what she follows now)."""
    identities = tuple(await ctx.uow.people.identities(ctx.person.id))
    member = Member(ctx.person, identities, wards, topics)
    stale = []
    for copy in await ctx.uow.broadcasts.pending_copies(ctx.person.id):
        audience = copy.broadcast.audience
        concern = None
        if audience.kind is AudienceKind.CASE:
            report = await ctx.uow.reports.by_code(audience.case_code or "")
            concern = CaseConcern(report) if report is not None else None
        elif audience.kind is not AudienceKind.RESIDENTS:
            continue
        if not select_recipients(audience, [member], ctx.org, concern=concern):
            stale.append(copy.outbox_id)
    return await ctx.uow.outbox.cancel(stale, ctx.now, OPT_OUT) if stale else 0


FOLLOWING: Final = Conversation(
    FLOW,
    {
        WARDS: Step(
            WARDS,
            lambda c, d: c.t("follow.wards.ask"),
            _ward_options,
            _save_wards,
            next=TOPICS,
            help_key="follow.wards.help",
        ),
        TOPICS: Step(
            TOPICS,
            lambda c, d: c.t("follow.topics.ask"),
            _topic_options,
            _save_topics,
            next=None,
            help_key="follow.topics.help",
            back=WARDS,
        ),
    },
    on_leave=show_menu,
    keeps_draft_on_leave=False,
    cancelled_key="follow.cancelled",
)
