"""The monthly review goes to the board once, on the first working day at 08:00."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot.org_loader import load_org_config
from domain.calendar import WorkingCalendar
from domain.clock import FixedClock
from domain.people import Role
from domain.reports import MediaKind, StoredMedia
from handlers.context import Services
from handlers.i18n import Catalog
from scheduler.monthly import MonthlyReview
from storage.database import Database
from storage.media import FileMediaStore
from tests.storage.builders import new_report


class CountingMedia(FileMediaStore):
    """The media store, remembering every file it was given."""

    def __init__(self, root: Path, max_bytes: int) -> None:
        super().__init__(root, max_bytes)
        self.saved: list[StoredMedia] = []

    def put(self, data: bytes, kind: MediaKind, mime: str) -> StoredMedia:
        stored = super().put(data, kind, mime)
        self.saved.append(stored)
        return stored


# 1 November 2026 is a Sunday: the first working day is Monday the 2nd (01:00 UTC = 08:00).
BEFORE = datetime(2026, 11, 2, 0, 55, tzinfo=UTC)
AFTER = datetime(2026, 11, 2, 1, 5, tzinfo=UTC)


async def test_sent_once_after_eight_on_the_first_working_day(
    database: Database, tmp_path: Path
) -> None:
    org = load_org_config()
    clock = FixedClock(BEFORE)
    services = Services(org, WorkingCalendar(org.working_time), clock, Catalog("vi"))
    media = CountingMedia(tmp_path, 10 << 20)
    review = MonthlyReview(database, services, media)
    clock.set(datetime(2026, 10, 20, 3, tzinfo=UTC))
    assert await review.run_once() is None  # the service's first run, in October
    clock.set(AFTER)
    assert await review.run_once() is None  # no board officer yet: nothing sent, nothing lost
    clock.set(BEFORE)
    async with database.unit_of_work() as uow:
        officer = await uow.people.add("Hùng", Role.BOARD, "btg", BEFORE, ("telegram", "9", "9"))
        reporter = await uow.people.add("Lan", Role.COLLABORATOR, "bo-de", BEFORE,
                                        ("telegram", "8", "8"))
        await uow.reports.add(new_report(reporter.id, 1, created_at=datetime(
            2026, 10, 20, 3, tzinfo=UTC)))
        await uow.commit()
    assert await review.run_once() is None  # 07:55: not yet
    clock.set(AFTER)
    assert await review.run_once() == date(2026, 10, 1)
    saved = len(media.saved)
    for minute in range(1, 4):  # the sweeps of the next minutes: nothing drawn or saved again
        clock.set(AFTER.replace(minute=5 + minute))
        assert await review.run_once() is None  # once
    assert len(media.saved) == saved == 2  # the chart and the workbook, once
    async with database.unit_of_work() as uow:
        sent = [i for i in await uow.outbox.all() if i.chat_id == "9"]
    assert officer.id and len(sent) == 3  # the chart, the workbook, the message: one row each
    chart, book, text = (item.reply for item in sent)
    assert book.documents[0][1] == "bao-cao-thang-2026-10.xlsx"
    assert media.read(book.documents[0][0])[:2] == b"PK"  # an .xlsx is a zip file
    assert media.read(chart.photos[0])[:8] == b"\x89PNG\r\n\x1a\n"
    assert "10/2026" in text.text or "2026-10" in text.text


@pytest.mark.parametrize("first_run", [AFTER, BEFORE])  # 08:05 or 07:55 on 2 November
async def test_a_new_installation_does_not_send_last_months_review(
    database: Database, tmp_path: Path, first_run: datetime
) -> None:
    org = load_org_config()
    clock = FixedClock(first_run)
    services = Services(org, WorkingCalendar(org.working_time), clock, Catalog("vi"))
    async with database.unit_of_work() as uow:
        await uow.people.add("Hùng", Role.BOARD, "btg", AFTER, ("telegram", "9", "9"))
        await uow.commit()
    review = MonthlyReview(database, services, FileMediaStore(tmp_path, 10 << 20))
    assert await review.run_once() is None  # first run on 2 November: October is skipped
    clock.set(AFTER)
    assert await review.run_once() is None
    clock.set(datetime(2026, 12, 1, 1, 5, tzinfo=UTC))  # Tuesday 1 December, 08:05
    assert await review.run_once() == date(2026, 11, 1)


async def test_after_a_downtime_across_two_month_ends_each_missed_review_is_sent_once(
    database: Database, tmp_path: Path
) -> None:
    org = load_org_config()
    clock = FixedClock(datetime(2026, 10, 20, 3, tzinfo=UTC))  # installed in October
    services = Services(org, WorkingCalendar(org.working_time), clock, Catalog("vi"))
    async with database.unit_of_work() as uow:
        await uow.people.add("Hùng", Role.BOARD, "btg", clock.now(), ("telegram", "9", "9"))
        await uow.commit()
    review = MonthlyReview(database, services, FileMediaStore(tmp_path, 10 << 20))
    assert await review.run_once() is None  # the first run: September was before its time
    clock.set(datetime(2026, 12, 2, 1, 5, tzinfo=UTC))  # down until Wednesday 2 December
    sent = [await review.run_once() for _ in range(3)]
    assert sent == [date(2026, 10, 1), date(2026, 11, 1), None]


async def test_a_clock_set_back_after_the_first_run_sends_no_month_before_it(
    database: Database, tmp_path: Path
) -> None:
    """First run under a clock that was ahead (10 December), then the right one (October):
    the months before the installation were never the service's to review."""
    org = load_org_config()
    clock = FixedClock(datetime(2026, 12, 10, 3, tzinfo=UTC))
    services = Services(org, WorkingCalendar(org.working_time), clock, Catalog("vi"))
    async with database.unit_of_work() as uow:
        await uow.people.add("Hùng", Role.BOARD, "btg", clock.now(), ("telegram", "9", "9"))
        await uow.commit()
    review = MonthlyReview(database, services, FileMediaStore(tmp_path, 10 << 20))
    assert await review.run_once() is None  # the first run
    clock.set(datetime(2026, 10, 5, 3, tzinfo=UTC))  # Monday 5 October, 10:00
    assert [await review.run_once() for _ in range(3)] == [None, None, None]
    async with database.unit_of_work() as uow:
        assert await uow.outbox.all() == []
