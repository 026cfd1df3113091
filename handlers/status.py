"""`/trangthai`: a reporter's own reports, never anyone else's."""

from __future__ import annotations

from domain.reports import normalise_report_code
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
    ctx.say(report_detail(ctx, report), menu_choices(ctx))
