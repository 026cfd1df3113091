"""Turning a finished draft into a stored report with its first timeline event."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from domain.calendar import acknowledge_deadline
from domain.ports import Draft
from domain.reports import (
    Location,
    MediaKind,
    Report,
    ReportStatus,
    StoredMedia,
    Urgency,
    report_code,
)
from handlers.case_effects import tell_board
from handlers.context import Context
from handlers.menu import menu_choices
from handlers.timeline import record_event


async def submit_report(ctx: Context, draft: Draft) -> Report:
    data = draft.data
    year = ctx.now.astimezone(ZoneInfo(ctx.org.working_time.timezone)).year
    urgency = Urgency(data.get("urgency", Urgency.NORMAL))
    report = await ctx.uow.reports.add(
        Report(
            id=None,
            code=report_code(year, await ctx.uow.reports.next_number(year)),
            reporter_id=ctx.person.id,
            category_code=data["category"],
            ward_code=data["ward"],
            address=data.get("address"),
            location=Location(*data["location"]) if data.get("location") else None,
            description=data.get("description") or "",
            urgency=urgency,
            status=ReportStatus.SUBMITTED,
            created_at=ctx.now,
            acknowledge_deadline=acknowledge_deadline(
                ctx.now, urgency, ctx.org.deadlines, ctx.services.calendar
            ),
            channel=ctx.incoming.channel,
            media=_media(data),
        )
    )
    assert report.id is not None
    await record_event(ctx, report.id, ReportStatus.DRAFT, ReportStatus.SUBMITTED)
    await ctx.uow.drafts.delete(draft.person_id)
    await tell_board(ctx, report, ctx.t("case.heading.new"), group=True)
    deadline = ctx.local_time(report.acknowledge_deadline)
    ctx.say(ctx.t("intake.submitted", code=report.code, deadline=deadline), menu_choices(ctx))
    return report


def _media(data: dict[str, object]) -> list[StoredMedia]:
    items = list(data.get("photos") or [])  # type: ignore[call-overload]
    if data.get("voice"):
        items.append(data["voice"])
    return [
        StoredMedia(sha256=m["sha256"], kind=MediaKind(m["kind"]), mime=m["mime"], size=m["size"])
        for m in items
    ]
