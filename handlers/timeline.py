"""Writing a case's timeline: one event per change, never updated or deleted."""

from __future__ import annotations

from domain.reports import ReportEvent, ReportStatus
from handlers.context import Context


def timeline_event(
    ctx: Context, report_id: int, from_status: ReportStatus, to_status: ReportStatus,
    note: str = "", evidence: tuple[str, ...] = (), *, by_system: bool = False,
) -> ReportEvent:
    """The event of a change made now by the person acting (or by the service itself)."""
    return ReportEvent(
        report_id=report_id, at=ctx.now,
        actor_id=None if by_system else ctx.person.id,
        actor_role=None if by_system else ctx.person.role,
        from_status=from_status, to_status=to_status, note=note, evidence=evidence,
    )


async def record_event(
    ctx: Context, report_id: int, from_status: ReportStatus, to_status: ReportStatus,
    note: str = "", evidence: tuple[str, ...] = (), *, by_system: bool = False,
) -> None:
    """Write `timeline_event(...)` at once."""
    await ctx.uow.reports.add_event(timeline_event(
        ctx, report_id, from_status, to_status, note, evidence, by_system=by_system
    ))
