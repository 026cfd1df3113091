"""The monthly review, sent to the board on the first working day of each month at 08:00.

Once per month whoever runs it: the send is claimed in `job_runs` in the same transaction as its
outbox rows. After downtime it goes out at the next sweep, once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.review_files import review_chart, review_message, review_workbook
from domain.messages import OutboxItem, Reply
from domain.people import Role
from domain.ports import MediaStore, UnitOfWork
from domain.reports import MediaKind
from domain.review import MonthlyFigures, previous_month
from handlers.context import Services
from handlers.sweeps_context import queue, system_context
from storage.database import Database
from storage.review import monthly_figures

log = logging.getLogger(__name__)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SEND_AT = time(8, 0)
FIRST_RUN = "monthly-review:first-run"


def _job(month: date) -> str:
    return f"monthly-review:{month:%Y-%m}"


def first_working_day(month: date, services: Services) -> date:
    day = month
    while not services.calendar.is_working_day(day):
        day += timedelta(days=1)
    return day


async def _oldest_unsent(uow: UnitOfWork, due: date, installed: date) -> date | None:
    """The oldest month, back from `due`, whose review was never sent: a year at most, and
    never a month before the installation (`installed`: the month before it, marked done by the
    first run), even when the clock was set back since."""
    oldest, month = None, due
    for _ in range(12):
        if month <= installed or await uow.job_runs.ran(_job(month)):
            break
        oldest, month = month, previous_month(month)
    return oldest


class MonthlyReview:
    def __init__(
        self,
        database: Database,
        services: Services,
        media: MediaStore,
        on_commit: Callable[[Sequence[OutboxItem]], None] = lambda items: None,
    ) -> None:
        self._database = database
        self._services = services
        self._media = media
        self._on_commit = on_commit

    def due_month(self, now: datetime) -> date | None:
        """The month whose review is due at `now` (the previous one), or None before 08:00 of
        this month's first working day."""
        tz = ZoneInfo(self._services.org.working_time.timezone)
        local = now.astimezone(tz)
        this_month = local.date().replace(day=1)
        start = datetime.combine(first_working_day(this_month, self._services), SEND_AT, tz)
        return previous_month(this_month) if local >= start else None

    def _last_month(self, now: datetime) -> date:
        tz = ZoneInfo(self._services.org.working_time.timezone)
        return previous_month(now.astimezone(tz).date().replace(day=1))

    async def run_once(self) -> date | None:
        """Send the review if it is due and not sent yet; returns the month sent. After a
        downtime across several month ends, the oldest unsent month first, one per run."""
        now = self._services.clock.now()
        due = self.due_month(now)
        async with self._database.unit_of_work() as uow:
            if await uow.job_runs.claim(FIRST_RUN, now):
                # A new installation does not open with the review of a month it never saw,
                # even when it starts before 08:00 of the month's first working day.
                await uow.job_runs.claim(_job(self._last_month(now)), now)
                await uow.commit()
                return None
        if due is None:
            return None
        async with self._database.unit_of_work() as uow:
            # Looked up before seconds of charts and workbooks; a sent month ends the walk back.
            first_run = await uow.job_runs.claimed_at(FIRST_RUN)
            installed = self._last_month(first_run or now)
            month = await _oldest_unsent(uow, due, installed)
            if month is None:
                return None
            officers = await uow.people.with_role(Role.BOARD)
            if not officers and self._services.board_chat is None:
                return None  # nobody to send it to yet: kept for when the board has joined
            timezone = self._services.org.working_time.timezone
            figures = await monthly_figures(uow, month, now, timezone)
        # Seconds of matplotlib and openpyxl: in a thread, outside any transaction.
        reply = await asyncio.to_thread(self._reply, figures, month)
        async with self._database.unit_of_work() as uow:
            if not await uow.job_runs.claim(_job(month), now):
                return None  # another scheduler sent it meanwhile
            ctx = system_context(uow, self._services, now)
            for officer in officers:
                await ctx.notify(officer.id, reply)
            if self._services.board_chat is not None:
                ctx.send_to(*self._services.board_chat, reply)
            queued = await queue(ctx)
            await uow.commit()
        log.info("monthly review of %s sent to the board", f"{month:%Y-%m}")
        self._on_commit(queued)
        return month

    def _reply(self, figures: MonthlyFigures, month: date) -> Reply:
        catalog, org = self._services.catalog, self._services.org
        text = review_message(figures, catalog, org)
        chart = self._media.put(review_chart(figures, catalog, org), MediaKind.PHOTO, "image/png")
        book = self._media.put(review_workbook(figures, catalog, org), MediaKind.DOCUMENT, XLSX)
        name = f"bao-cao-thang-{month:%Y-%m}.xlsx"
        return Reply(text, photos=(chart.sha256,), documents=((book.sha256, name),))
