"""Cases whose reporter never answered "is it really fixed?" close as not verified."""

from __future__ import annotations

from datetime import datetime

from domain.lifecycle import NOTE_NOT_VERIFIED
from domain.messages import OutboxItem, Reply
from domain.ports import UnitOfWorkFactory
from domain.reports import CaseUpdate, ReportStatus
from handlers.context import Context, Services
from handlers.sweeps_context import queue, system_context
from handlers.timeline import record_event


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
        closed = []
        for report in due[:limit]:  # the due ones first, so none waits behind the others
            assert report.id is not None
            if await _close(ctx, report.id, report.reporter_id, report.code):
                closed.append(report.code)
        queued = await queue(ctx)
        await uow.commit()
    return closed, queued


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
