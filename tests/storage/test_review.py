"""The monthly review against a hand-counted month, on SQLite and PostgreSQL (review_fixture.py)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from openpyxl import load_workbook

from bot.org_loader import load_org_config
from bot.review_files import review_chart, review_message, review_workbook
from domain.reports import ReportStatus as S
from domain.review import MonthlyFigures, Verification
from handlers.i18n import Catalog
from storage.database import Database
from storage.review import monthly_figures
from tests.storage.review_fixture import (
    DT,
    GP,
    GT,
    KH,
    MONTH,
    MT,
    NOW,
    XD,
    Case,
    assigned_path,
    build,
    local,
)

ROOT = Path(__file__).resolve().parents[2]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


async def figures_of(database: Database, month: date = MONTH, **options: bool) -> MonthlyFigures:
    async with database.unit_of_work() as uow:
        return await monthly_figures(uow, month, NOW, "Asia/Ho_Chi_Minh", **options)


async def test_every_figure_matches_the_hand_count(database: Database) -> None:
    await build(database.unit_of_work)
    f = await figures_of(database)

    assert f.start == datetime(2026, 9, 30, 17, tzinfo=UTC)
    assert f.end == datetime(2026, 10, 31, 17, tzinfo=UTC)
    assert f.total == 66
    assert f.by_category == {XD: 24, DT: 14, GT: 10, MT: 10, KH: 6, GP: 2}
    assert f.by_ward == {"duc-giang": 21, "cu-khoi": 19, "bo-de": 17, "gia-thuy": 5,
                         "giang-bien": 4}
    assert f.by_status == {"closed": 62, "answered": 1, "in_progress": 1, "reopened": 1,
                           "submitted": 1}
    assert (f.resolved, f.resolved_pct) == (62, 93.9)
    assert f.board_direct == 19
    assert (f.resolved_on_time, f.resolved_on_time_pct) == (56, 90.3)
    assert (f.resolved_first_time, f.resolved_first_time_pct) == (55, 88.7)
    assert f.reopened == 4
    assert (f.verified_fixed, f.verification_answered, f.verified_fixed_pct) == (9, 10, 90.0)
    assert f.median_days_to_answer == 2.8  # (2.5 + 3.0) / 2, the 32nd and 33rd of 64 answers
    assert f.hot == 3


async def test_the_case_list_is_the_month_in_local_time(database: Database) -> None:
    codes = await build(database.unit_of_work)
    f = await figures_of(database)

    assert {c.code for c in f.cases} == set(codes["october"])
    assert [c.created_at for c in f.cases] == sorted(c.created_at for c in f.cases)
    by_time = {c.created_at: c for c in f.cases}
    # 00:00 and 06:30 on Oct 1 are still September in UTC; 23:30 on Oct 31 is October everywhere
    # in this zone; 23:59 Sep 30 and 00:30 Nov 1 (Oct 31 17:30 UTC) are not October here.
    assert local(10, 1, 0, 0) in by_time
    assert local(10, 1, 6, 30) in by_time
    assert local(10, 31, 23, 30) in by_time
    assert local(9, 30, 23, 59) not in by_time and local(11, 1, 0, 30) not in by_time
    october = codes["october"]
    assert {c.code for c in f.hot_cases} == {october[0], october[1], october[64]}
    # The per-case facts add up to the aggregates.
    assert sum(c.resolved for c in f.cases) == f.resolved
    assert sum(bool(c.on_time) for c in f.cases) == f.resolved_on_time
    assert sum(c.reopened for c in f.cases) == f.reopened
    assert sum(c.sent_back for c in f.cases) == 4
    verdicts = [c.verification for c in f.cases]
    assert verdicts.count(Verification.FIXED) == 9
    assert verdicts.count(Verification.NOT_FIXED) == 1
    assert verdicts.count(Verification.SILENT) == 1
    assert verdicts.count(Verification.UNSURE) == 1
    assert sum(c.first_answered_at is not None for c in f.cases) == 64


async def test_the_overdue_list_is_every_open_case_past_its_deadline(database: Database) -> None:
    codes = await build(database.unit_of_work)
    f = await figures_of(database)

    p1, g9, g8 = codes["outside"][0], codes["october"][63], codes["october"][62]
    assert [(o.code, o.status.value, o.deadline_kind.value) for o in f.overdue] == [
        (p1, "assigned", "answer"), (g9, "submitted", "acknowledge"), (g8, "reopened", "answer"),
    ]
    assert [o.late for o in f.overdue] == [
        timedelta(days=32, hours=15), timedelta(days=31, hours=17, minutes=30),
        timedelta(days=12, hours=15),
    ]


async def test_without_the_case_list_the_figures_are_the_same(database: Database) -> None:
    await build(database.unit_of_work)
    full = await figures_of(database)
    lean = await figures_of(database, with_cases=False)
    assert lean.cases == []
    assert lean.median_days_to_answer == full.median_days_to_answer == 2.8
    assert (lean.total, lean.resolved_first_time, lean.verified_fixed) == (66, 55, 9)


async def test_a_month_without_reports_shows_dashes(database: Database) -> None:
    await build(database.unit_of_work)
    f = await figures_of(database, date(2026, 12, 1))
    assert (f.total, f.resolved, f.by_category, f.cases) == (0, 0, {}, [])
    assert f.resolved_pct is None and f.verified_fixed_pct is None
    assert f.median_days_to_answer is None
    assert len(f.overdue) == 3  # the overdue list is about now, not about the month
    assert "—" in review_message(f, Catalog("vi"))


async def test_the_workbook_the_chart_and_the_message(database: Database) -> None:
    await build(database.unit_of_work)
    f = await figures_of(database)
    org, catalog = load_org_config(None), Catalog("vi")

    book = load_workbook(io.BytesIO(review_workbook(f, catalog, org)))
    assert book.sheetnames == ["Chỉ số", "Theo lĩnh vực", "Theo địa bàn", "Theo trạng thái",
                               "Danh sách vụ việc", "Quá hạn"]
    rows = {name: list(book[name].iter_rows(values_only=True)) for name in book.sheetnames}
    assert len(rows["Chỉ số"]) == 1 + 10
    assert len(rows["Theo lĩnh vực"]) == 1 + 6 + 1  # every category, then the total
    assert len(rows["Theo địa bàn"]) == 1 + 14 + 1  # every ward of the sample org
    assert len(rows["Theo trạng thái"]) == 1 + 5 + 1
    assert len(rows["Danh sách vụ việc"]) == 1 + 66
    assert len(rows["Quá hạn"]) == 1 + 3
    assert rows["Chỉ số"][2][:4] == ("Đã giải quyết", 62, 93.9, 66)
    assert rows["Theo lĩnh vực"][1][:2] == ("Trật tự xây dựng", 24)
    assert rows["Theo lĩnh vực"][-1][:2] == ("Tổng cộng", 66)

    png = review_chart(f, catalog, org)
    assert png.startswith(PNG_SIGNATURE)
    assert 10_000 < len(png) < 500_000

    text = review_message(f, catalog, org)
    assert "62/66 (93,9 %)" in text
    assert "Ban trực tiếp xử lý: 19" in text
    assert "Trung vị thời gian trả lời: 2,8 ngày" in text
    assert "Trật tự xây dựng (24)" in text
    english = review_message(f, Catalog("en"), org)
    assert "62/66 (93.9 %)" in english and "Board: 19" in english


async def test_the_command_line_prints_the_figures_and_writes_the_files(
    database: Database, database_url: str, tmp_path: Path
) -> None:
    await build(database.unit_of_work)
    xlsx, png = tmp_path / "review.xlsx", tmp_path / "review.png"
    env = {**os.environ, "DATABASE_URL": database_url, "LOG_LEVEL": "WARNING"}
    for name in ("ORG_CONFIG", "TELEGRAM_BOT_TOKEN", "ZALO_BOT_TOKEN"):
        env.pop(name, None)
    done = subprocess.run(
        [sys.executable, "-m", "bot", "report", "monthly", "--month", "2026-10", "--json",
         "--xlsx", str(xlsx), "--png", str(png)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    assert (figures["month"], figures["total"], figures["resolved"]) == ("2026-10", 66, 62)
    assert (figures["resolved_pct"], figures["board_direct"]) == (93.9, 19)
    assert figures["verified_fixed_pct"] == 90.0 and figures["median_days_to_answer"] == 2.8
    assert len(figures["cases"]) == 66
    assert load_workbook(xlsx).sheetnames[0] == "Chỉ số"
    assert png.read_bytes().startswith(PNG_SIGNATURE)

    text = subprocess.run(
        [sys.executable, "-m", "bot", "report", "monthly", "--month", "2026-10"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert text.returncode == 0, text.stderr
    assert "62/66 (93,9 %)" in text.stdout

    bad = subprocess.run(
        [sys.executable, "-m", "bot", "report", "monthly", "--month", "2026-13"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert bad.returncode == 1 and "2026-13" in bad.stderr


async def test_an_accepted_answer_counts_as_resolved_while_the_reporter_is_asked(
    database: Database,
) -> None:
    from tests.storage.builders import committed_person, new_report

    reporter = await committed_person(database.unit_of_work)
    moment = datetime(2026, 10, 15, 3, 0, tzinfo=UTC)
    async with database.unit_of_work() as uow:
        for number, status in enumerate((S.VERIFYING, S.CLOSED, S.REJECTED), start=1):
            await uow.reports.add(new_report(reporter.id, number, status=status, created_at=moment))
        await uow.commit()
    figures = await figures_of(database, date(2026, 10, 1))
    assert (figures.total, figures.resolved) == (3, 2)


async def test_an_answer_the_board_sent_back_to_itself_is_not_resolved_first_time(
    database: Database,
) -> None:
    """A case the board handles itself goes back to `board_direct` when its answer is sent
    back (a unit's goes back to `in_progress`); a case waiting for the reporter's "is it fixed?"
    is resolved, in the case list as in the total."""
    direct = [(S.SUBMITTED, S.BOARD_DIRECT, 0.05, ""), (S.BOARD_DIRECT, S.ANSWERED, 1.0, "")]
    cases = [
        Case(local(10, 5), KH, "bo-de", [*direct, (S.ANSWERED, S.BOARD_DIRECT, 1.5, ""),
                                          (S.BOARD_DIRECT, S.ANSWERED, 2.0, ""),
                                          (S.ANSWERED, S.CLOSED, 2.5, "")], board_direct=True),
        Case(local(10, 6), KH, "bo-de", [*direct, (S.ANSWERED, S.CLOSED, 1.5, "")],
             board_direct=True),
        Case(local(10, 7), KH, "bo-de", [*assigned_path(1.0), (S.ANSWERED, S.VERIFYING, 1.2, "")]),
    ]
    await build(database.unit_of_work, {"october": cases})
    f = await figures_of(database)
    assert (f.resolved, f.resolved_first_time) == (3, 2)
    assert [c.sent_back for c in f.cases] == [True, False, False]
    assert sum(c.resolved for c in f.cases) == f.resolved
    assert sum(bool(c.on_time) for c in f.cases) == f.resolved_on_time
