"""How reports read to the people allowed to see them."""

from __future__ import annotations

from collections.abc import Sequence

from domain.reports import Report
from handlers.context import Context


def place_text(ctx: Context, address: str | None, location: Sequence[float] | None) -> str:
    if location:
        latitude, longitude = location
        return ctx.t("intake.summary.location", latitude=latitude, longitude=longitude)
    return address or "—"


def status_label(ctx: Context, report: Report) -> str:
    return ctx.t(f"status.label.{report.status.value}")


def report_line(ctx: Context, report: Report) -> str:
    return ctx.t(
        "status.list_line",
        code=report.code,
        category=ctx.category_label(report.category_code),
        ward=ctx.unit_label(report.ward_code),
        status=status_label(ctx, report),
    )


def report_detail(ctx: Context, report: Report) -> str:
    location = (
        (report.location.latitude, report.location.longitude) if report.location else None
    )
    description = report.description or ctx.t("intake.description.voice")
    return ctx.t(
        "status.detail",
        code=report.code,
        status=status_label(ctx, report),
        category=ctx.category_label(report.category_code),
        ward=ctx.unit_label(report.ward_code),
        place=place_text(ctx, report.address, location),
        description=description,
        photos=report.photo_count,
        created=ctx.local_time(report.created_at),
        deadline=ctx.local_time(report.acknowledge_deadline),
    )
