"""Cases whose reporter never answered "is it really fixed?" close as not verified; a case whose
reporter said "not yet" but never sent her words reopens with what she sent."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from domain.lifecycle import NOTE_NOT_VERIFIED, Action
from domain.messages import OutboxItem, Reply
from domain.ports import Draft, UnitOfWorkFactory
from domain.reports import CaseUpdate, Report, ReportStatus
from handlers.case_actions import perform
from handlers.case_effects import second_verifier
from handlers.context import Context, Services
from handlers.sweeps_context import queue, system_context
from handlers.timeline import record_event
from handlers.verification import NOT_FIXED, not_yet_details

# How long a "not yet" waits for the reporter's words before the case reopens without them.
NOT_YET_GRACE = timedelta(hours=24)


async def close_unverified(
    uow_factory: UnitOfWorkFactory, services: Services, now: datetime, limit: int
) -> tuple[list[str], list[OutboxItem]]:
    """(codes closed, queued messages), in one committed transaction."""
    wait = services.org.deadlines.verification_answer_working_days
    async with uow_factory() as uow:
        ctx = system_context(uow, services, now)
        waiting = await uow.reports.with_status({ReportStatus.VERIFYING})
        due = [
            r for r in waiting
            if r.id is not None and r.resolved_at is not None
            and services.calendar.add_working_days(r.resolved_at, wait) <= now
        ]
        for left in await uow.escalations.stale_drafts(NOT_FIXED.flow, now - NOT_YET_GRACE,
                                                        limit):
            await _reopen_as_told(ctx, left)
        closed = []
        for report in due[:limit]:  # the due ones first, so none waits behind the others
            assert report.id is not None
            draft = await _not_yet_about(ctx, report)
            if draft is not None:
                await _reopen_as_told(ctx, draft)
            elif await _close(ctx, report.id, report.reporter_id, report.code):
                closed.append(report.code)
        queued = await queue(ctx)
        await uow.commit()
    return closed, queued


async def _not_yet_about(ctx: Context, report: Report) -> Draft | None:
    """A "not yet" being written about this very case, by its reporter or the second
    collaborator asked (a "not yet" about another case of hers is not an answer to this one)."""
    for person_id in (report.reporter_id, await second_verifier(ctx, report)):
        draft = await ctx.uow.drafts.get(person_id) if person_id is not None else None
        if draft is not None and draft.flow == NOT_FIXED.flow and (
            draft.data.get("case") == report.code
        ):
            return draft
    return None


async def _reopen_as_told(ctx: Context, draft: Draft) -> None:
    """A "not yet" whose words never came (a day went by, or the time to answer is over)
    stands: the case reopens with the photos she sent, as if she had pressed "Gửi"."""
    if not await ctx.uow.escalations.delete_draft_if(draft.person_id, draft.revision):
        return  # she is writing at this very moment: her own answer will do it
    person = await ctx.uow.people.get(draft.person_id)
    code = str(draft.data.get("case", ""))
    report = await ctx.uow.reports.by_code(code)
    if person is None or report is None or report.status is not ReportStatus.VERIFYING:
        return
    acting = replace(ctx, person=person, replies=[], outgoing=[])
    await perform(acting, code, Action.REPORT_NOT_FIXED, not_yet_details(draft))
    for reply in acting.replies:  # what she would have been answered goes to her chats
        await acting.notify(person.id, reply)
    ctx.outgoing += acting.outgoing


async def _close(ctx: Context, report_id: int, reporter_id: int, code: str) -> bool:
    change = CaseUpdate(ReportStatus.CLOSED)
    if not await ctx.uow.reports.update_if(report_id, ReportStatus.VERIFYING, change):
        return False  # she answered in the meantime
    await record_event(
        ctx, report_id, ReportStatus.VERIFYING, ReportStatus.CLOSED, NOTE_NOT_VERIFIED,
        by_system=True,
    )
    await ctx.notify(reporter_id, Reply(ctx.t("verify.closed_unanswered", code=code)))
    return True
