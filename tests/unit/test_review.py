"""The monthly review's arithmetic (domain/review.py) and its files (bot/review_files.py)."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

import pytest
from openpyxl import load_workbook

from bot.org_loader import load_org_config
from bot.review_files import (
    figures_json,
    review_chart,
    review_message,
    review_workbook,
    workbook_sheets,
)
from domain.reports import ReportStatus, Urgency
from domain.review import (
    CaseLine,
    DeadlineKind,
    MonthlyFigures,
    OverdueCase,
    Verification,
    median,
    median_days,
    month_bounds,
    next_month,
    parse_month,
    percent,
    previous_month,
    round_half_up,
)
from handlers.i18n import Catalog

T0 = datetime(2026, 10, 5, 2, 0, tzinfo=UTC)


def test_percentages_have_one_decimal_rounded_half_up() -> None:
    assert percent(62, 66) == 93.9
    assert percent(56, 62) == 90.3
    assert percent(1, 8) == 12.5
    assert percent(1, 3) == 33.3
    assert percent(2, 3) == 66.7
    assert percent(0, 5) == 0.0
    assert percent(5, 5) == 100.0
    assert percent(0, 0) is None  # shown as "—"
    assert round_half_up(2.75) == 2.8 and round_half_up(2.65) == 2.7  # not banker's rounding
    assert round_half_up(0.05) == 0.1


def test_median_of_odd_even_and_empty() -> None:
    assert median([3.0, 1.0, 2.0]) == 2.0
    assert median([4.0, 1.0, 3.0, 2.0]) == 2.5
    assert median([]) is None
    assert median([7.0]) == 7.0


def test_month_bounds_are_local_midnights_in_utc() -> None:
    assert month_bounds(date(2026, 10, 1), "Asia/Ho_Chi_Minh") == (
        datetime(2026, 9, 30, 17, tzinfo=UTC), datetime(2026, 10, 31, 17, tzinfo=UTC))
    assert month_bounds(date(2026, 12, 15), "Asia/Ho_Chi_Minh") == (
        datetime(2026, 11, 30, 17, tzinfo=UTC), datetime(2026, 12, 31, 17, tzinfo=UTC))
    assert month_bounds(date(2026, 3, 1), "UTC")[1] == datetime(2026, 4, 1, tzinfo=UTC)


def test_months_parse_and_step() -> None:
    assert parse_month("2026-10") == date(2026, 10, 1)
    assert parse_month(" 2026-1 ") == date(2026, 1, 1)
    for bad in ("2026-13", "2026-00", "10/2026", "2026", "", "9999-12", "0001-01"):
        with pytest.raises(ValueError):
            parse_month(bad)
    assert next_month(date(2026, 12, 1)) == date(2027, 1, 1)
    assert previous_month(date(2027, 1, 1)) == date(2026, 12, 1)
    assert previous_month(date(2026, 10, 1)) == date(2026, 9, 1)


def case(
    status: ReportStatus = ReportStatus.CLOSED, *, deadline: timedelta | None = timedelta(days=3),
    resolved: timedelta | None = timedelta(days=2), answered: timedelta | None = timedelta(days=1),
    urgency: Urgency = Urgency.NORMAL, code: str = "PA-2026-000001",
) -> CaseLine:
    return CaseLine(
        code=code, category_code="khac", ward_code="bo-de", status=status, urgency=urgency,
        board_direct=False, created_at=T0, assigned_unit_code="bo-de",
        answer_deadline=None if deadline is None else T0 + deadline,
        resolved_at=None if resolved is None else T0 + resolved,
        first_answered_at=None if answered is None else T0 + answered,
        sent_back=False, reopened=False, verification=Verification.FIXED,
    )


def test_a_case_is_on_time_when_resolved_by_its_deadline_or_without_one() -> None:
    assert case().on_time is True
    assert case(resolved=timedelta(days=3)).on_time is True  # exactly at the deadline
    assert case(resolved=timedelta(days=3, seconds=1)).on_time is False
    assert case(deadline=None).on_time is True
    assert case(ReportStatus.IN_PROGRESS, resolved=None).on_time is None
    # Accepted, the reporter being asked "is it fixed?": resolved, as the month's total counts.
    waiting = case(ReportStatus.VERIFYING, resolved=timedelta(days=1))
    assert waiting.resolved and waiting.on_time is True
    assert case(answered=timedelta(hours=36)).days_to_answer == 1.5
    assert median_days([case(answered=timedelta(hours=h)) for h in (24, 36, 48, 60)]) == 1.8
    assert median_days([case(answered=None)]) is None


def figures(**overrides: object) -> MonthlyFigures:
    values: dict[str, object] = dict(
        month=date(2026, 10, 1), timezone="Asia/Ho_Chi_Minh",
        start=datetime(2026, 9, 30, 17, tzinfo=UTC), end=datetime(2026, 10, 31, 17, tzinfo=UTC),
        generated_at=datetime(2026, 11, 2, 1, tzinfo=UTC), total=4,
        by_category={"khac": 3, "no-longer-configured": 1}, by_ward={"bo-de": 4},
        by_status={"closed": 3, "in_progress": 1}, resolved=3, resolved_on_time=2,
        resolved_first_time=3, board_direct=1, reopened=0, verified_fixed=0,
        verification_answered=0, hot=1, median_days_to_answer=1.0,
        cases=[case(code=f"PA-2026-00000{i}") for i in range(1, 4)]
        + [case(ReportStatus.IN_PROGRESS, resolved=None, urgency=Urgency.HOT,
                code="PA-2026-000004")],
        overdue=[OverdueCase(
            code="PA-2026-000004", category_code="khac", ward_code="bo-de",
            status=ReportStatus.IN_PROGRESS, urgency=Urgency.HOT, assigned_unit_code="bo-de",
            created_at=T0, deadline_kind=DeadlineKind.ANSWER, due=T0 + timedelta(days=3),
            late=timedelta(days=2, hours=12))],
    )
    values.update(overrides)
    return MonthlyFigures(**values)  # type: ignore[arg-type]


def test_derived_percentages_and_hot_cases() -> None:
    f = figures()
    assert (f.resolved_pct, f.resolved_on_time_pct, f.resolved_first_time_pct) == (
        75.0, 66.7, 100.0)
    assert f.verified_fixed_pct is None
    assert [c.code for c in f.hot_cases] == ["PA-2026-000004"]
    assert f.label == "2026-10"


def test_the_message_in_both_languages() -> None:
    org = load_org_config(None)
    vi = review_message(figures(), Catalog("vi"), org)
    assert vi.startswith("📊 Báo cáo tháng 10/2026: 4 phản ánh")
    assert "3/4 (75,0 %)" in vi and "Xác nhận đã khắc phục: — (0/0)" in vi
    assert "Khác (3), no-longer-configured (1)" in vi  # an unknown code shows as itself
    en = review_message(figures(median_days_to_answer=None), Catalog("en"), org)
    assert en.startswith("📊 Review of 10/2026: 4 reports")
    assert "3/4 (75.0 %)" in en and "Median time to answer: —" in en


def test_the_workbook_has_one_sheet_per_table_in_english_too() -> None:
    org = load_org_config(None)
    book = load_workbook(io.BytesIO(review_workbook(figures(), Catalog("en"), org)))
    assert book.sheetnames == ["Indicators", "By category", "By ward", "By status", "Cases",
                               "Overdue"]
    categories = list(book["By category"].iter_rows(values_only=True))
    assert categories[0] == ("Category", "Count", "Per cent")
    assert categories[1] == ("Khác", 3, 75.0)
    assert len(categories) == 1 + 7 + 1  # six configured (zeros too), the unknown one, total
    overdue = list(book["Overdue"].iter_rows(values_only=True))
    assert overdue[1][0] == "PA-2026-000004" and overdue[1][-1] == 2.5
    cases = list(book["Cases"].iter_rows(values_only=True))
    assert cases[1][6] == datetime(2026, 10, 5, 9, 0)  # local time, as Excel has no zones
    # Without an org configuration codes stand for names and no zero rows are added.
    assert len(workbook_sheets(figures(), Catalog("vi"))["Theo lĩnh vực"]) == 1 + 2 + 1


def test_the_chart_is_a_png_even_for_an_empty_month() -> None:
    for f in (figures(), figures(total=0, by_category={}, by_status={}, cases=[])):
        png = review_chart(f, Catalog("vi"), load_org_config(None))
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
        assert 5_000 < len(png) < 500_000
    assert review_chart(figures(), Catalog("vi")).startswith(b"\x89PNG")


def test_the_json_figures() -> None:
    data = figures_json(figures())
    assert data["resolved_pct"] == 75.0 and data["verified_fixed_pct"] is None
    assert data["overdue"][0]["late_hours"] == 60.0
    assert data["hot_cases"] == ["PA-2026-000004"]
    assert data["cases"][0]["on_time"] is True and data["cases"][3]["on_time"] is None
