"""Sweep benchmark: 1,000,000 stored reports, 1,000 of them due, the time of one sweep.

``python -m bench.sweep [--db sqlite|postgres] [--reports 1000000] [--due 1000]``

Fills a fresh, migrated database (a SQLite file in a temporary directory, or a database
``dlxh_bench_<random>`` on the PostgreSQL server of ``--postgres-url``, dropped at the end) with
multi-row inserts in chunks (SQLAlchemy "insertmanyvalues"): ``--reports`` reports of which
``--due`` are open and due (90 % assigned with the answer deadline just passed: the reminder and
the deadline step are due; 10 % never acknowledged, past their acknowledge deadline), ``--due``
more are assigned and within the reminder look-ahead but not yet due, and all others closed.
Staff: 14 wards with 2 handlers and a head each, 3 board officers and a leader.

It then loads the working calendar's holiday tables (once per process: a running service has
them from its first deadline; printed apart), freezes what exists then out of the garbage
collector's sight as the service does after start-up (otherwise a full collection of the fill's
objects, 50–70 ms, lands in whichever sweep crosses the threshold), and times, each on the
clock's "now":

- ``first sweep``: the sweep that takes the due steps (events, step rows, outbox rows written);
- ``steady sweep``: the next sweep, with nothing left to do (what a sweep costs every minute);
- ``the same due cases in a warm process``: what the first sweep wrote deleted, the same steps
  taken again by a new sweeper (the first sweep of a process also compiles and prepares its
  statements, once per process);
- ``one step for each due case``: as the due cases meet a service that sweeps every minute:
  each case's reminder was taken a minute or more before (the rows of the warm run's
  reminders are kept, the rest deleted), so each case crosses one step, 1,000 steps in all;
- ``due reads``: the two index reads, and the whole cases of those with a step due.

It prints the figures; it never fails on a target (≤ 100 ms for a sweep). See docs/escalation.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text

from bench.pg import temporary_database
from bot.serve import keep_start_up_out_of_collections
from domain.calendar import WorkingCalendar
from domain.clock import FixedClock
from domain.org import OrgConfig, Unit, UnitKind
from handlers.context import Services
from handlers.i18n import Catalog
from handlers.sweeps import Sweeper, SweepSettings
from storage.database import Database
from storage.migrate import upgrade_to_head
from storage.models import ChannelIdentityRow, PersonRow, ReportEventRow, ReportRow

NOW = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)  # Wednesday 10:00 in Hà Nội
DEFAULT_POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
CHUNK = 2_000  # rows per statement stay under PostgreSQL's 32,767 parameters
WARDS = tuple(f"w{n:02d}" for n in range(14))
H, D = timedelta(hours=1), timedelta(days=1)


def org() -> OrgConfig:
    wards = [Unit(code, f"Phường {code}", UnitKind.WARD) for code in WARDS]
    units = (Unit("btg", "Ban Tuyên giáo", UnitKind.BOARD), *wards)
    return OrgConfig("bench", units, ())


def people() -> Iterator[dict[str, Any]]:
    staff = [("collaborator", "w00", False)]
    for ward in WARDS:
        staff += [("handler", ward, False), ("handler", ward, False), ("handler", ward, True)]
    staff += [("board", "btg", False)] * 3 + [("board", "btg", True)]
    for n, (role, unit, lead) in enumerate(staff, start=1):
        yield {"id": n, "display_name": f"P{n}", "role": role, "unit_code": unit,
               "created_at": NOW - 400 * D, "notify_channel": None, "lead": lead}


def report(n: int, kind: str) -> dict[str, Any]:
    created = NOW - 300 * D + n * timedelta(seconds=20)
    row: dict[str, Any] = {
        "id": n, "code": f"PA-B-{n:07d}", "reporter_id": 1, "category_code": "khac",
        "ward_code": WARDS[n % 14], "address": None, "latitude": None, "longitude": None,
        "description": "bench", "urgency": "normal", "status": "closed",
        "created_at": created, "acknowledge_deadline": created + 8 * H, "channel": "telegram",
        "acknowledged_at": created + H, "assigned_unit_code": WARDS[n % 14],
        "answer_deadline": created + 3 * D, "board_direct": False, "duplicate_of": None,
        "resolved_at": created + 2 * D,
    }
    if kind == "closed":
        return row
    row["resolved_at"] = None
    if kind == "unacknowledged":
        return row | {"status": "submitted", "created_at": NOW - 2 * D,
                      "acknowledge_deadline": NOW - H, "acknowledged_at": None,
                      "assigned_unit_code": None, "answer_deadline": None}
    deadline = NOW - timedelta(minutes=n % 120) if kind == "due" else NOW + 3 * D
    return row | {"status": "assigned", "created_at": NOW - 5 * D, "answer_deadline": deadline}


def kinds(count: int, due: int) -> Iterator[tuple[int, str]]:
    stride = count // (2 * due)
    for n in range(1, count + 1):
        if n % stride or n // stride > 2 * due:
            yield n, "closed"
        elif (n // stride) % 2:
            yield n, "open"  # open, within the look-ahead, nothing due yet
        else:
            yield n, "unacknowledged" if (n // stride) % 20 == 0 else "due"


async def fill(database: Database, count: int, due: int) -> None:
    async with database.engine.begin() as connection:
        staff = list(people())
        await connection.execute(insert(PersonRow), staff)
        await connection.execute(insert(ChannelIdentityRow), [
            {"channel": "telegram", "external_id": str(p["id"]), "chat_id": str(p["id"]),
             "person_id": p["id"]} for p in staff
        ])
    batch: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for n, kind in kinds(count, due):
        row = report(n, kind)
        batch.append(row)
        if row["status"] == "assigned":
            events.append({"report_id": n, "at": NOW - 4 * D, "actor_id": None,
                           "actor_role": "board", "from_status": "submitted",
                           "to_status": "assigned", "note": "", "evidence": []})
        if len(batch) >= 50 * CHUNK:
            await _insert(database, batch, events)
            batch, events = [], []
    await _insert(database, batch, events)
    async with database.engine.begin() as connection:
        await connection.execute(text("ANALYZE"))


async def _insert(database: Database, reports: list[dict[str, Any]],
                  events: list[dict[str, Any]]) -> None:
    async with database.engine.begin() as connection:
        for start in range(0, len(reports), CHUNK):
            await connection.execute(insert(ReportRow), reports[start:start + CHUNK])
        for start in range(0, len(events), CHUNK):
            await connection.execute(insert(ReportEventRow), events[start:start + CHUNK])


async def timed_sweep(sweeper: Sweeper) -> tuple[float, int]:
    began = time.perf_counter()
    result = await sweeper.run_once()
    return (time.perf_counter() - began) * 1000, len(result.steps)


async def timed_sweep_again(
    database: Database, services: Services, settings: SweepSettings
) -> tuple[float, int]:
    """The first sweep's work once more, in this process that has run sweeps (statements
    compiled, prepared and cached, as in a service that has been up a while): what it wrote is
    deleted, and a new `Sweeper` (no ladder computed yet) takes the same steps."""
    async with database.engine.begin() as connection:
        await connection.execute(text("DELETE FROM escalation_steps"))
        await connection.execute(text("DELETE FROM outbox"))
        await connection.execute(text("DELETE FROM report_events WHERE note LIKE 'escalation:%'"))
    return await timed_sweep(Sweeper(database.unit_of_work, services, settings))


async def timed_one_step_each(
    database: Database, services: Services, settings: SweepSettings
) -> tuple[float, int]:
    """The due cases as a service running every minute meets them: each case's reminder was
    taken by an earlier sweep, so each of the 1,000 crosses one step (its deadline, or the
    acknowledge deadline) in this one."""
    async with database.engine.begin() as connection:
        await connection.execute(text("DELETE FROM escalation_steps WHERE step <> 'reminder'"))
        await connection.execute(text("DELETE FROM outbox"))
        await connection.execute(text(
            "DELETE FROM report_events WHERE note LIKE 'escalation:%'"
            " AND note <> 'escalation:reminder'"))
    return await timed_sweep(Sweeper(database.unit_of_work, services, settings))


async def timed_reads(database: Database) -> float:
    began = time.perf_counter()
    async with database.unit_of_work() as uow:
        unit = await uow.escalations.unit_clocks(NOW + 14 * D, "leader", 5000)
        unacknowledged = await uow.escalations.unacknowledged_clocks(NOW, "ack_leader", 5000)
        await uow.escalations.due_cases(
            [c for c in unit if c.deadline <= NOW] + unacknowledged)
    return (time.perf_counter() - began) * 1000


async def measure(url: str, args: argparse.Namespace) -> None:
    await upgrade_to_head(url)
    database = Database.connect(url, background_checkpoints=True)  # as `dlxh serve` connects
    checkpoints = None
    if database.checkpointer is not None:  # and copies the log (SQLite) beside its sweeps
        checkpoints = asyncio.create_task(database.checkpointer.run())
    try:
        began = time.perf_counter()
        await fill(database, args.reports, args.due)
        print(f"filled {args.reports:,} reports in {time.perf_counter() - began:.1f} s")
        config = org()
        services = Services(config, WorkingCalendar(config.working_time), FixedClock(NOW),
                            Catalog("vi"))
        began = time.perf_counter()
        services.calendar.add_working_days(NOW, 1)  # this year's and next year's holidays
        warm = (time.perf_counter() - began) * 1000
        print(f"calendar warm-up: {warm:.0f} ms (holiday tables, loaded once per process)")
        keep_start_up_out_of_collections()  # as `dlxh serve` does once it has started
        # Two transactions under way at once on PostgreSQL, as bot/app.py's `sweep_settings`.
        settings = SweepSettings(writers=2 if database.is_postgres else 1)
        sweeper = Sweeper(database.unit_of_work, services, settings)
        first, steps = await timed_sweep(sweeper)
        print(f"first sweep: {first:.0f} ms ({steps:,} steps taken)")
        steady = [await timed_sweep(sweeper) for _ in range(args.repeat)]
        assert all(taken == 0 for _, taken in steady), "a step was taken twice"
        times = [ms for ms, _ in steady]
        print(f"steady sweep: best {min(times):.1f} ms, median {statistics.median(times):.1f} ms")
        again = [await timed_sweep_again(database, services, settings) for _ in range(args.repeat)]
        assert all(taken == steps for _, taken in again), "not the same steps again"
        times = [ms for ms, _ in again]
        print(f"the same due cases in a warm process: best {min(times):.0f} ms, "
              f"median {statistics.median(times):.0f} ms")
        each = [await timed_one_step_each(database, services, settings)
                for _ in range(args.repeat)]
        times = [ms for ms, _ in each]
        print(f"one step for each due case (reminders taken a minute before): best "
              f"{min(times):.0f} ms, median {statistics.median(times):.0f} ms "
              f"({each[0][1]:,} steps)")
        reads = [await timed_reads(database) for _ in range(args.repeat)]
        print(f"due reads: best {min(reads):.1f} ms, median {statistics.median(reads):.1f} ms")
    finally:
        if checkpoints is not None:
            checkpoints.cancel()
            await asyncio.gather(checkpoints, return_exceptions=True)
        await database.dispose()


async def run(args: argparse.Namespace) -> None:
    print(f"--db {args.db}: {args.reports:,} reports, {args.due:,} due")
    if args.db == "sqlite":
        with tempfile.TemporaryDirectory() as workdir:
            await measure(f"sqlite+aiosqlite:///{Path(workdir) / 'bench.db'}", args)
        return
    async with temporary_database(args.postgres_url) as url:
        await measure(url, args)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.sweep", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--postgres-url", default=os.environ.get(
        "TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL))
    parser.add_argument("--reports", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=5)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    asyncio.run(run(parse_args(argv)))


if __name__ == "__main__":
    main()
