"""The monthly review as the board receives it: a short chat message, a chart (PNG), a workbook.

All three are made from `domain.review.MonthlyFigures` (see storage/review.py for how they are
counted, docs/monthly-review.md for what they mean). Texts come from the message catalog
(`review.*`); names of categories and wards from the org configuration when given. openpyxl and
matplotlib (Agg canvas, no screen, no pyplot state) are imported only when a file is made.
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from domain.org import OrgConfig
from domain.review import CaseLine, MonthlyFigures, OverdueCase, round_half_up
from handlers.i18n import Catalog

TOP_CATEGORIES = 3


class Labels:
    """Names for codes and numbers for people: org names, catalog texts, local times."""

    def __init__(self, catalog: Catalog, org: OrgConfig | None, timezone: str) -> None:
        self.catalog = catalog
        self.org = org
        self.zone = ZoneInfo(timezone)

    def category(self, code: str) -> str:
        found = self.org.category(code) if self.org else None
        return found.name if found else code

    def ward(self, code: str | None) -> str:
        if code is None:
            return ""
        found = self.org.unit(code) if self.org else None
        return found.label if found else code

    def status(self, code: str) -> str:
        key = f"status.label.{code}"
        return self.catalog.t(key) if self.catalog.has(key) else code

    def number(self, value: float | None, suffix: str = "") -> str:
        if value is None:
            return self.catalog.t("review.none")
        text = f"{value:.1f}".replace(".", self.catalog.t("review.decimal_point"))
        return text + suffix

    def flag(self, value: bool | None) -> str:
        if value is None:
            return ""
        return self.catalog.t("review.flag_yes" if value else "review.flag_no")

    def local(self, moment: datetime | None) -> datetime | None:
        """A naive local time for a spreadsheet cell (Excel keeps no time zone)."""
        return None if moment is None else moment.astimezone(self.zone).replace(tzinfo=None)


def shown_month(figures: MonthlyFigures, catalog: Catalog) -> str:
    """The month as people write it (`review.month`: "tháng 11/2026"); JSON keeps 2026-11."""
    return catalog.t("review.month", month=f"{figures.month:%m}", year=figures.month.year)


def _table(counts: dict[str, int], known: list[str]) -> list[tuple[str, int]]:
    """Every known code (zero when none) and every counted one, largest first."""
    merged = {code: 0 for code in known} | counts
    order = {code: index for index, code in enumerate(known)}
    return sorted(merged.items(), key=lambda item: (-item[1], order.get(item[0], 1 << 30)))


def category_table(figures: MonthlyFigures, org: OrgConfig | None) -> list[tuple[str, int]]:
    return _table(figures.by_category, [c.code for c in org.categories] if org else [])


def ward_table(figures: MonthlyFigures, org: OrgConfig | None) -> list[tuple[str, int]]:
    return _table(figures.by_ward, [w.code for w in org.wards] if org else [])


# --- the chat message ---------------------------------------------------------------------------
def review_message(
    figures: MonthlyFigures, catalog: Catalog, org: OrgConfig | None = None
) -> str:
    labels = Labels(catalog, org, figures.timezone)
    t = catalog.t
    median = figures.median_days_to_answer
    text = t(
        "review.message", month=shown_month(figures, catalog), total=figures.total,
        resolved=figures.resolved,
        resolved_pct=labels.number(figures.resolved_pct, " %"),
        on_time_pct=labels.number(figures.resolved_on_time_pct, " %"),
        first_time_pct=labels.number(figures.resolved_first_time_pct, " %"),
        board_direct=figures.board_direct, reopened=figures.reopened,
        verified_pct=labels.number(figures.verified_fixed_pct, " %"),
        verified=figures.verified_fixed, verification_answered=figures.verification_answered,
        median=t("review.days", days=labels.number(median)) if median is not None
        else t("review.none"),
        hot=figures.hot, overdue=len(figures.overdue),
    )
    top = [(code, n) for code, n in figures.by_category.items() if n > 0][:TOP_CATEGORIES]
    if top:
        items = ", ".join(t("review.top_item", name=labels.category(c), count=n) for c, n in top)
        text += "\n" + t("review.top", items=items)
    return text + "\n" + t("review.files")


# --- the workbook -------------------------------------------------------------------------------
def _indicator_rows(figures: MonthlyFigures, t: Any) -> list[list[Any]]:
    f = figures
    rows: list[tuple[str, int | float | None, float | None, int | None]] = [
        ("total", f.total, None, None),
        ("resolved", f.resolved, f.resolved_pct, f.total),
        ("on_time", f.resolved_on_time, f.resolved_on_time_pct, f.resolved),
        ("first_time", f.resolved_first_time, f.resolved_first_time_pct, f.resolved),
        ("board_direct", f.board_direct, None, None),
        ("reopened", f.reopened, None, None),
        ("verified_fixed", f.verified_fixed, f.verified_fixed_pct, f.verification_answered),
        ("median_days", f.median_days_to_answer, None, None),
        ("hot", f.hot, None, None),
        ("overdue", len(f.overdue), None, None),
    ]
    header = [t("review.col.figure"), t("review.col.value"), t("review.col.percent"),
              t("review.col.base")]
    return [header, *([t(f"review.figure.{key}"), value, pct, base]
                      for key, value, pct, base in rows)]


def _count_rows(title: str, table: list[tuple[str, int]], name: Any, t: Any) -> list[list[Any]]:
    total = sum(count for _, count in table)
    body = [[name(code), count, round_half_up(100 * count / total) if total else None]
            for code, count in table]
    return [[title, t("review.col.value"), t("review.col.percent")], *body,
            [t("review.total_row"), total, 100.0 if total else None]]


def _case_rows(cases: list[CaseLine], labels: Labels) -> list[list[Any]]:
    t = labels.catalog.t
    header = [t(f"review.col.{key}") for key in (
        "code", "category", "ward", "status", "urgency", "board_direct", "created", "unit",
        "deadline", "first_answer", "days_to_answer", "resolved", "on_time", "sent_back",
        "reopened", "verification")]
    rows: list[list[Any]] = [header]
    for c in cases:
        days = c.days_to_answer
        rows.append([
            c.code, labels.category(c.category_code), labels.ward(c.ward_code),
            labels.status(c.status.value), t(f"intake.urgency.{c.urgency.value}"),
            labels.flag(c.board_direct), labels.local(c.created_at),
            labels.ward(c.assigned_unit_code), labels.local(c.answer_deadline),
            labels.local(c.first_answered_at), None if days is None else round_half_up(days),
            labels.local(c.resolved_at), labels.flag(c.on_time), labels.flag(c.sent_back),
            labels.flag(c.reopened),
            t(f"review.verification.{c.verification.value}") if c.verification else "",
        ])
    return rows


def _overdue_rows(overdue: list[OverdueCase], labels: Labels) -> list[list[Any]]:
    t = labels.catalog.t
    header = [t(f"review.col.{key}") for key in (
        "code", "category", "ward", "status", "unit", "created", "deadline_kind", "due",
        "late_days")]
    return [header, *([
        o.code, labels.category(o.category_code), labels.ward(o.ward_code),
        labels.status(o.status.value), labels.ward(o.assigned_unit_code),
        labels.local(o.created_at), t(f"review.deadline_kind.{o.deadline_kind.value}"),
        labels.local(o.due), round_half_up(o.late.total_seconds() / 86400),
    ] for o in overdue)]


def workbook_sheets(
    figures: MonthlyFigures, catalog: Catalog, org: OrgConfig | None = None
) -> dict[str, list[list[Any]]]:
    """The workbook's sheets (name -> rows, header first) before they are written."""
    labels = Labels(catalog, org, figures.timezone)
    t = catalog.t
    return {
        t("review.sheet.indicators"): _indicator_rows(figures, t),
        t("review.sheet.by_category"): _count_rows(
            t("review.col.category"), category_table(figures, org), labels.category, t),
        t("review.sheet.by_ward"): _count_rows(
            t("review.col.ward"), ward_table(figures, org), labels.ward, t),
        t("review.sheet.by_status"): _count_rows(
            t("review.col.status"), list(figures.by_status.items()), labels.status, t),
        t("review.sheet.cases"): _case_rows(figures.cases, labels),
        t("review.sheet.overdue"): _overdue_rows(figures.overdue, labels),
    }


def review_workbook(
    figures: MonthlyFigures, catalog: Catalog, org: OrgConfig | None = None
) -> bytes:
    """The .xlsx: one sheet per table, then the case list and the overdue list."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)  # streams rows: fast for a month of many cases
    for name, rows in workbook_sheets(figures, catalog, org).items():
        sheet = book.create_sheet(title=name[:31])
        sheet.freeze_panes = "A2"
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# --- the chart ----------------------------------------------------------------------------------
def review_chart(
    figures: MonthlyFigures, catalog: Catalog, org: OrgConfig | None = None
) -> bytes:
    """A PNG with two horizontal bar charts: reports by category and by status."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    labels = Labels(catalog, org, figures.timezone)
    t = catalog.t
    panels = [
        (t("review.chart.by_category"),
         [(labels.category(c), n) for c, n in category_table(figures, org)], "#2f6db3"),
        (t("review.chart.by_status"),
         [(labels.status(s), n) for s, n in figures.by_status.items()], "#d27b2c"),
    ]
    rows = max(1, *(len(bars) for _, bars, _ in panels))
    figure = Figure(figsize=(11, 1.6 + 0.38 * rows), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    figure.suptitle(t("review.chart.title", month=shown_month(figures, catalog)), fontsize=14)
    for axes, (title, bars, colour) in zip(figure.subplots(1, 2), panels, strict=True):
        names = [name for name, _ in reversed(bars)]
        counts = [count for _, count in reversed(bars)]
        drawn = axes.barh(names, counts, color=colour)
        axes.bar_label(drawn, padding=3)
        axes.set_title(title)
        axes.set_xlim(0, max([*counts, 1]) * 1.15)
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.spines[["top", "right"]].set_visible(False)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


# --- JSON (the CLI's --json) --------------------------------------------------------------------
def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def figures_json(figures: MonthlyFigures) -> dict[str, Any]:
    f = figures
    return {
        "month": f.label, "timezone": f.timezone, "from": _iso(f.start), "until": _iso(f.end),
        "generated_at": _iso(f.generated_at), "total": f.total,
        "by_category": f.by_category, "by_ward": f.by_ward, "by_status": f.by_status,
        "resolved": f.resolved, "resolved_pct": f.resolved_pct,
        "resolved_on_time": f.resolved_on_time, "resolved_on_time_pct": f.resolved_on_time_pct,
        "resolved_first_time": f.resolved_first_time,
        "resolved_first_time_pct": f.resolved_first_time_pct,
        "board_direct": f.board_direct, "reopened": f.reopened,
        "verified_fixed": f.verified_fixed, "verification_answered": f.verification_answered,
        "verified_fixed_pct": f.verified_fixed_pct, "hot": f.hot,
        "hot_cases": [c.code for c in f.hot_cases],
        "median_days_to_answer": f.median_days_to_answer,
        "overdue": [
            {"code": o.code, "status": o.status.value, "category": o.category_code,
             "ward": o.ward_code, "unit": o.assigned_unit_code,
             "deadline": o.deadline_kind.value, "due": _iso(o.due),
             "late_hours": round_half_up(o.late.total_seconds() / 3600)}
            for o in f.overdue
        ],
        "cases": [
            {"code": c.code, "category": c.category_code, "ward": c.ward_code,
             "status": c.status.value, "urgency": c.urgency.value,
             "board_direct": c.board_direct, "created_at": _iso(c.created_at),
             "answer_deadline": _iso(c.answer_deadline), "resolved_at": _iso(c.resolved_at),
             "first_answered_at": _iso(c.first_answered_at), "on_time": c.on_time,
             "sent_back": c.sent_back, "reopened": c.reopened,
             "verification": c.verification.value if c.verification else None}
            for c in f.cases
        ],
    }
