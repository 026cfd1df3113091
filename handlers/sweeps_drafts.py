"""Abandoned reports being written: a reminder (once per time she leaves it), then discarded with
a short message.

The draft's own `updated_at` is the last activity; the reminder is remembered in
`draft.data["reminded_at"]` (and does not count as activity). Both writes are conditional on the
draft's revision, so a person who writes at that moment wins and hears nothing from the sweep.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.messages import Choice, OutboxItem, Reply
from domain.ports import Draft, UnitOfWorkFactory
from handlers.context import Context, Services
from handlers.intake import FLOW
from handlers.menu import MENU_REPORT
from handlers.sweeps_context import queue, system_context

REMINDED = "reminded_at"


@dataclass(frozen=True)
class DraftRules:
    remind_after: timedelta
    discard_after: timedelta
    limit: int


async def sweep_drafts(
    uow_factory: UnitOfWorkFactory, services: Services, now: datetime, rules: DraftRules
) -> tuple[int, int, list[OutboxItem]]:
    """(reminded, discarded, queued messages), all in one committed transaction."""
    async with uow_factory() as uow:
        ctx = system_context(uow, services, now)
        old = await uow.escalations.stale_drafts(FLOW, now - rules.discard_after, rules.limit)
        discarded = [d for d in old if await _discard(ctx, d, rules)]
        idle = await uow.escalations.stale_drafts(FLOW, now - rules.remind_after, rules.limit)
        reminded = [d for d in idle if _not_reminded(d) and await _remind(ctx, d, rules)]
        queued = await queue(ctx)
        await uow.commit()
    return len(reminded), len(discarded), queued


def _not_reminded(draft: Draft) -> bool:
    """Not since she last wrote: she may come back after a reminder and leave it again."""
    reminded = draft.data.get(REMINDED)
    return not isinstance(reminded, str) or datetime.fromisoformat(reminded) < draft.updated_at


async def _remind(ctx: Context, draft: Draft, rules: DraftRules) -> bool:
    revision = draft.revision
    draft.data[REMINDED] = ctx.now.isoformat()
    draft.revision += 1
    if not await ctx.uow.escalations.save_draft_if(draft, revision):
        return False
    text = ctx.t(
        "sweep.draft.reminder", started=ctx.local_time(draft.created_at),
        days=_days(ctx, rules.discard_after),
    )
    await ctx.notify(draft.person_id, Reply(text, (Choice(MENU_REPORT, ctx.t("menu.report")),)))
    return True


async def _discard(ctx: Context, draft: Draft, rules: DraftRules) -> bool:
    if not await ctx.uow.escalations.delete_draft_if(draft.person_id, draft.revision):
        return False
    text = ctx.t(
        "sweep.draft.discarded", started=ctx.local_time(draft.created_at),
        days=_days(ctx, rules.discard_after),
    )
    await ctx.notify(draft.person_id, Reply(text))
    return True


def _days(ctx: Context, span: timedelta) -> str:
    """"7", "1,5": DRAFT_DISCARD_DAYS may be a fraction (Vietnamese writes a decimal comma)."""
    days = f"{span / timedelta(days=1):g}"
    return days.replace(".", ",") if ctx.services.catalog.language == "vi" else days
