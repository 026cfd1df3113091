"""`/trangthai`: a reporter's own reports, never anyone else's."""

from __future__ import annotations

from domain.messages import Reply
from domain.reports import ReportStatus, normalise_report_code
from handlers.case_effects import latest_answer
from handlers.context import Context
from handlers.menu import menu_choices
from handlers.presenting import report_detail, report_line


async def show_status(ctx: Context, argument: str) -> None:
    if argument:
        await _show_one(ctx, argument)
        return
    reports = sorted(
        await ctx.uow.reports.for_reporter(ctx.person.id), key=lambda r: r.created_at, reverse=True
    )
    if not reports:
        ctx.say(ctx.t("status.none"), menu_choices(ctx))
        return
    lines = [ctx.t("status.list_header", count=len(reports))]
    lines += [report_line(ctx, r) for r in reports[:20]]
    lines.append(ctx.t("status.list_more"))
    ctx.say("\n".join(lines), menu_choices(ctx))


async def _show_one(ctx: Context, argument: str) -> None:
    code = normalise_report_code(argument)
    if code is None:
        ctx.say(ctx.t("status.bad_code"))
        return
    report = await ctx.uow.reports.by_code(code)
    # Someone else's report reads exactly like a missing one: existence is not disclosed.
    if report is None or report.reporter_id != ctx.person.id:
        ctx.say(ctx.t("status.not_found", code=code))
        return
    text = report_detail(ctx, report)
    photos: tuple[str, ...] = ()
    if report.assigned_unit_code and report.answer_deadline:
        text += "\n" + ctx.t("status.assigned", unit=ctx.unit_label(report.assigned_unit_code),
                             deadline=ctx.local_time(report.answer_deadline))
    if report.status in (ReportStatus.CLOSED, ReportStatus.VERIFYING):
        answer = await latest_answer(ctx, report)
        if answer is not None:
            text += "\n" + ctx.t("status.answer", answer=answer.note)
            photos = answer.evidence
    ctx.replies.append(Reply(text, menu_choices(ctx), photos=photos))
