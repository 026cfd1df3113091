"""Monthly review benchmark: 1,000,000 stored reports, the time of one month's review.

``python -m bench.review [--db sqlite|postgres] [--reports 1000000] [--months 60] [--due 1000]``

Fills a fresh, migrated database (a SQLite file in a temporary directory, or a database
``dlxh_bench_<random>`` on the PostgreSQL server of ``--postgres-url``, dropped at the end) with
``--reports`` reports spread evenly over ``--months`` months before "now" (2026-12-02 08:00,
Asia/Ho_Chi_Minh), each with its timeline (3 to 10 events: most assigned-answered-closed, some
handled by the board, sent back, verified, reopened, rejected), ``--due`` of them open and past
their answer deadline. Bulk inserts: ``executemany`` in one transaction on SQLite, ``COPY`` (asyncpg
``copy_records_to_table``) on PostgreSQL, then ``ANALYZE``. Then it times
``storage.review.monthly_figures`` for the last full month (best and median of ``--repeat``
runs, each on a new connection) and, apart, the workbook and the chart. See docs/monthly-review.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bench.pg import temporary_database
from bot.org_loader import load_org_config
from bot.review_files import review_chart, review_workbook
from domain.reports import ReportStatus as S
from domain.review import month_bounds, previous_month
from handlers.i18n import Catalog
from storage.database import Database
from storage.migrate import upgrade_to_head
from storage.review import monthly_figures

ZONE = "Asia/Ho_Chi_Minh"
NOW = datetime(2026, 12, 2, 8, 0, tzinfo=ZoneInfo(ZONE))
DEFAULT_POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
CHUNK = 50_000
CATEGORIES = ("trat-tu-xay-dung", "trat-tu-do-thi", "an-toan-giao-thong", "ve-sinh-moi-truong",
              "giai-phong-mat-bang", "khac")
WARDS = ("bo-de", "cu-khoi", "duc-giang", "gia-thuy", "giang-bien", "long-bien", "ngoc-lam",
         "ngoc-thuy", "phuc-dong", "phuc-loi", "sai-dong", "thach-ban", "thuong-thanh",
         "viet-hung")
REPORT_COLUMNS = ("id", "code", "reporter_id", "category_code", "ward_code", "description",
                  "urgency", "status", "created_at", "acknowledge_deadline", "channel",
                  "acknowledged_at", "assigned_unit_code", "answer_deadline", "board_direct",
                  "resolved_at")
EVENT_COLUMNS = ("report_id", "at", "actor_id", "actor_role", "from_status", "to_status", "note",
                 "evidence")
OPEN_PATH = [(S.SUBMITTED, S.ASSIGNED, 0.1, ""), (S.ASSIGNED, S.IN_PROGRESS, 0.3, "")]
H = timedelta(hours=1)
D = timedelta(days=1)
Row = tuple[Any, ...]


def _path(rng: random.Random) -> tuple[list[tuple[S, S, float, str]], bool]:
    """A timeline as (from, to, days after filing, note), and whether the board handled it."""
    roll = rng.random()
    if roll < 0.03:
        return [(S.SUBMITTED, S.REJECTED, 0.1, "out_of_scope")], False
    if roll < 0.25:
        return [(S.SUBMITTED, S.BOARD_DIRECT, 0.1, ""), (S.BOARD_DIRECT, S.ANSWERED, 1.5, ""),
                (S.ANSWERED, S.CLOSED, 2.0, "")], True
    answered = rng.uniform(0.5, 6.0)
    steps = [(S.SUBMITTED, S.ASSIGNED, 0.1, ""), (S.ASSIGNED, S.IN_PROGRESS, 0.3, ""),
             (S.IN_PROGRESS, S.ANSWERED, answered, "")]
    if roll < 0.31:  # sent back once
        steps += [(S.ANSWERED, S.IN_PROGRESS, answered + 0.2, "vague"),
                  (S.IN_PROGRESS, S.ANSWERED, answered + 1.0, "")]
        answered += 1.0
    if roll < 0.55:
        return [*steps, (S.ANSWERED, S.CLOSED, answered + 0.3, "")], False
    steps.append((S.ANSWERED, S.VERIFYING, answered + 0.3, ""))
    if roll < 0.60:  # "not fixed": reopened, handled again
        steps += [(S.VERIFYING, S.REOPENED, answered + 2.0, ""),
                  (S.REOPENED, S.ASSIGNED, answered + 2.1, ""),
                  (S.ASSIGNED, S.IN_PROGRESS, answered + 2.2, ""),
                  (S.IN_PROGRESS, S.ANSWERED, answered + 4.0, ""),
                  (S.ANSWERED, S.VERIFYING, answered + 4.1, "")]
        answered += 4.0
    note = "not_verified" if roll > 0.9 else "verified"
    return [*steps, (S.VERIFYING, S.CLOSED, answered + 2.0, note)], False


def generate(count: int, months: int, due: int, seed: int = 7) -> Iterator[tuple[Row, list[Row]]]:
    """(report row, its event rows); aware UTC datetimes, JSON text for the evidence."""
    rng = random.Random(seed)
    last = previous_month(NOW.date().replace(day=1))
    first = last
    for _ in range(months - 1):
        first = previous_month(first)
    start, _ = month_bounds(first, ZONE)
    _, end = month_bounds(last, ZONE)
    step = (end - start) / count
    not_due_from = count - min(count, 1000)  # the newest 1000 are open, due after "now"
    stride = max(1, not_due_from // max(due, 1))  # every stride-th before them: open, overdue
    numbers: dict[int, int] = {}
    for index in range(count):
        created = start + step * index
        steps, direct = _path(rng)
        usual_deadline = created + 3 * D
        deadline: datetime | None = usual_deadline
        overdue = index % stride == stride - 1 and index // stride < due
        if index >= not_due_from or overdue:
            steps, direct = OPEN_PATH, False
            deadline = NOW + 3 * D if index >= not_due_from else min(usual_deadline, NOW - H)
        elif steps[0][1] is S.REJECTED:
            deadline = None
        year = created.astimezone(UTC).year
        numbers[year] = numbers.get(year, 0) + 1
        closed = steps[-1][1] is S.CLOSED
        resolved = created + D * steps[-1][2] if closed else None
        ward = rng.choice(WARDS)
        report = (
            index + 1, f"PA-{year}-{numbers[year]:06d}", 1, rng.choice(CATEGORIES), ward,
            "bench", "hot" if rng.random() < 0.02 else "normal", steps[-1][1].value, created,
            created + 8 * H, "telegram", created + D * steps[0][2], ward, deadline, direct,
            resolved,
        )
        events = [(index + 1, created + D * days, 1, "board", a.value, b.value, note, "[]")
                  for a, b, days, note in steps]
        yield report, events


def chunks(rows: Iterator[tuple[Row, list[Row]]]) -> Iterator[tuple[list[Row], list[Row]]]:
    reports: list[Row] = []
    events: list[Row] = []
    for report, timeline in rows:
        reports.append(report)
        events.extend(timeline)
        if len(reports) >= CHUNK:
            yield reports, events
            reports, events = [], []
    if reports:
        yield reports, events


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


def fill_sqlite(path: Path, args: argparse.Namespace) -> None:
    db = sqlite3.connect(path)
    db.execute("PRAGMA synchronous=OFF")
    db.execute("INSERT INTO people (id, display_name, role, created_at) VALUES "
               "(1, 'bench', 'board', '2020-01-01 00:00:00.000000')")
    report_sql = (f"INSERT INTO reports ({', '.join(REPORT_COLUMNS)}) "
                  f"VALUES ({', '.join('?' * len(REPORT_COLUMNS))})")
    event_sql = (f"INSERT INTO report_events ({', '.join(EVENT_COLUMNS)}) "
                 f"VALUES ({', '.join('?' * len(EVENT_COLUMNS))})")
    for reports, events in chunks(generate(args.reports, args.months, args.due)):
        db.executemany(report_sql, ([_sqlite_value(v) for v in row] for row in reports))
        db.executemany(event_sql, ([_sqlite_value(v) for v in row] for row in events))
    db.commit()
    db.execute("ANALYZE")
    db.commit()
    db.close()


async def fill_postgres(database: Database, args: argparse.Namespace) -> None:
    async with database.engine.connect() as connection:
        raw = (await connection.get_raw_connection()).driver_connection
        assert raw is not None
        await raw.execute("INSERT INTO people (id, display_name, role, created_at) "
                          "VALUES (1, 'bench', 'board', now())")
        for reports, events in chunks(generate(args.reports, args.months, args.due)):
            await raw.copy_records_to_table("reports", records=reports, columns=REPORT_COLUMNS)
            await raw.copy_records_to_table("report_events", records=events,
                                            columns=EVENT_COLUMNS)
        await raw.execute("SELECT setval(pg_get_serial_sequence('reports', 'id'), "
                          "(SELECT max(id) FROM reports))")
        await raw.execute("ANALYZE")
        await connection.commit()


async def measure(database: Database, month: date, repeat: int) -> dict[str, Any]:
    times: list[float] = []
    lean: list[float] = []
    figures = None
    for _ in range(repeat):
        for with_cases, bucket in ((True, times), (False, lean)):
            async with database.engine.connect() as connection:
                began = time.perf_counter()
                found = await monthly_figures(connection, month, NOW, ZONE, with_cases=with_cases)
                bucket.append(time.perf_counter() - began)
            figures = found if with_cases else figures
    assert figures is not None
    org, catalog = load_org_config(None), Catalog("vi")
    began = time.perf_counter()
    xlsx = review_workbook(figures, catalog, org)
    xlsx_seconds = time.perf_counter() - began
    began = time.perf_counter()
    png = review_chart(figures, catalog, org)
    png_seconds = time.perf_counter() - began
    return {
        "month": figures.label, "cohort": figures.total, "cases_listed": len(figures.cases),
        "overdue": len(figures.overdue), "resolved_pct": figures.resolved_pct,
        "review_best_s": min(times), "review_median_s": statistics.median(times),
        "review_without_case_list_best_s": min(lean),
        "xlsx_s": xlsx_seconds, "xlsx_bytes": len(xlsx), "png_s": png_seconds,
        "png_bytes": len(png),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    month = previous_month(NOW.date().replace(day=1))
    began = time.perf_counter()
    if args.db == "sqlite":
        with tempfile.TemporaryDirectory(prefix="dlxh-review-") as directory:
            path = Path(directory) / "bench.db"
            url = f"sqlite+aiosqlite:///{path}"
            await upgrade_to_head(url)
            fill_sqlite(path, args)
            filled = time.perf_counter() - began
            database = Database.connect(url)
            try:
                result = await measure(database, month, args.repeat)
            finally:
                await database.dispose()
        return {"db": "sqlite", "reports": args.reports, "fill_s": filled, **result}
    async with temporary_database(args.postgres_url) as url:
        database = Database.connect(url)
        try:
            await upgrade_to_head(url)
            await fill_postgres(database, args)
            filled = time.perf_counter() - began
            result = await measure(database, month, args.repeat)
        finally:
            await database.dispose()
    return {"db": "postgres", "reports": args.reports, "fill_s": filled, **result}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--reports", type=int, default=1_000_000)
    parser.add_argument("--months", type=int, default=60)
    parser.add_argument("--due", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--postgres-url",
                        default=os.environ.get("TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL))
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args()
    result = asyncio.run(run(args))
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{result['db']}: {result['reports']:,} reports stored in {result['fill_s']:.1f} s")
    print(f"month {result['month']}: {result['cohort']:,} reports in the cohort, "
          f"{result['overdue']:,} overdue now, resolved {result['resolved_pct']} %")
    print(f"monthly review (figures + case list + overdue list): best "
          f"{result['review_best_s'] * 1000:.0f} ms, median "
          f"{result['review_median_s'] * 1000:.0f} ms (target <= 1000 ms)")
    lean = result["review_without_case_list_best_s"] * 1000
    print(f"  without the case list: best {lean:.0f} ms")
    print(f"workbook {result['xlsx_bytes']:,} bytes in {result['xlsx_s'] * 1000:.0f} ms; "
          f"chart {result['png_bytes']:,} bytes in {result['png_s'] * 1000:.0f} ms")


if __name__ == "__main__":
    main()
