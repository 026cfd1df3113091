"""APScheduler 3 `AsyncIOScheduler` running the sweeps at a fixed interval.

No job store is configured beyond the default in-memory one and nothing is pickled: the only job
is a bound method re-added at every start, and the state it acts on lives in our tables.
`coalesce=True`: a late tick runs once, not once per missed interval; `misfire_grace_time=None`
runs it anyway (after a suspend, or a faked clock jump). `max_instances=2` with our own lock: a
tick that comes while one runs (a monthly review takes seconds to draw) waits for it and runs
right after, never beside it; APScheduler would otherwise skip it and leave what became due
meanwhile for a whole interval. A third one is skipped: the waiting one does its work.

APScheduler sleeps until the next run time it computed from one wall-clock reading. The system
clock can step meanwhile (NTP, a resumed machine, libfaketime), and the event loop's timers do not
follow the wall clock (`bot/loop_clock.py`): so the scheduler is told to look at the clock again
every second, and a step forward runs the overdue tick within a second, not an interval later.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler  # type: ignore[import-untyped]
from apscheduler.triggers.interval import IntervalTrigger  # type: ignore[import-untyped]

from handlers.sweeps import Sweeper, SweepResult
from scheduler.leader import Leadership
from scheduler.monthly import MonthlyReview

log = logging.getLogger(__name__)

JOB_ID = "sweep"
LOOK_AGAIN_SECONDS = 1.0


class SweepScheduler:
    def __init__(
        self, sweeper: Sweeper, leadership: Leadership, interval_seconds: float,
        monthly: MonthlyReview | None = None,
    ) -> None:
        if interval_seconds <= 0:
            raise ValueError("SWEEP_SECONDS must be positive")
        self._sweeper = sweeper
        self._monthly = monthly
        self._leadership = leadership
        self._interval = interval_seconds
        self._scheduler: AsyncIOScheduler | None = None
        self._looking: asyncio.Task[None] | None = None
        self.runs = 0
        self._stopped = False
        self._running = asyncio.Lock()  # stop() waits for a sweep under way

    def start(self) -> None:
        """Start ticking in the running event loop; the first tick comes at once."""
        scheduler = AsyncIOScheduler(timezone="UTC")
        scheduler.add_job(
            self.tick, IntervalTrigger(seconds=self._interval), id=JOB_ID,
            coalesce=True, max_instances=2, misfire_grace_time=None,
            next_run_time=datetime.now(UTC),  # APScheduler's own timing only
        )
        scheduler.start()
        self._scheduler = scheduler
        self._looking = asyncio.get_running_loop().create_task(
            self._look_at_the_clock(scheduler), name="sweep-clock"
        )

    @staticmethod
    async def _look_at_the_clock(scheduler: AsyncIOScheduler) -> None:
        while True:
            await asyncio.sleep(LOOK_AGAIN_SECONDS)
            scheduler.wakeup()  # runs what is due by the wall clock now, then sleeps again

    async def tick(self) -> SweepResult | None:
        """One sweep if this process leads; never raises (the next tick tries again)."""
        try:
            if self._stopped:
                return None  # submitted as stop() began: never waits for its lock
            async with self._running:
                if self._stopped or not await self._leadership.is_leader():
                    return None
                result = await self._sweeper.run_once()
                if self._monthly is not None:
                    await self._monthly.run_once()
        except Exception:
            log.exception("the sweep failed; it runs again at the next interval")
            return None
        self.runs += 1
        if result.steps or result.drafts_reminded or result.drafts_discarded:
            log.info(
                "sweep: %d escalation steps, %d drafts reminded, %d discarded",
                len(result.steps), result.drafts_reminded, result.drafts_discarded,
            )
        for code, copies in result.broadcasts_launched:
            log.info("broadcast %s launched: %d copies", code, copies)
        for code, counts in result.broadcasts_finished:
            log.info(
                "broadcast %s finished: %d recipients, %d delivered, %d failed, %d blocked, "
                "%d skipped", code, counts.recipients, counts.delivered, counts.failed,
                counts.blocked, counts.skipped,
            )
        return result

    async def stop(self) -> None:
        """No new sweep starts; the one under way finishes (its work commits) before the
        scheduler shuts down: APScheduler's shutdown cancels a running job, which would throw
        away a half-built monthly review and log the cancellation as the job's error."""
        self._stopped = True
        scheduler, self._scheduler = self._scheduler, None
        looking, self._looking = self._looking, None
        if looking is not None:
            looking.cancel()
        if scheduler is not None and scheduler.running:
            scheduler.pause()
        async with self._running:
            if scheduler is not None and scheduler.running:
                scheduler.shutdown(wait=False)
            await self._leadership.release()


