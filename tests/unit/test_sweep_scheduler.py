"""Stopping the service while a sweep is under way: the sweep finishes, nothing logs an error,
and no sweep starts afterwards (scheduler/runner.py)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, cast

import pytest

from handlers.sweeps import Sweeper, SweepResult
from scheduler.leader import AlwaysLeader
from scheduler.runner import SweepScheduler


class SlowSweeper:
    """A sweep that lasts until the test lets it end."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.may_finish = asyncio.Event()
        self.runs = 0
        self.finished = 0

    async def run_once(self) -> SweepResult:
        self.runs += 1
        self.started.set()
        await self.may_finish.wait()
        self.finished += 1
        return SweepResult()


async def test_a_sweep_under_way_finishes_before_the_scheduler_stops(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sweeper = SlowSweeper()
    scheduler = SweepScheduler(cast(Sweeper, sweeper), AlwaysLeader(), interval_seconds=0.02)
    caplog.set_level(logging.INFO)
    scheduler.start()
    await asyncio.wait_for(sweeper.started.wait(), timeout=5)

    stopping = asyncio.create_task(scheduler.stop())
    await asyncio.sleep(0.1)  # several intervals: nothing new starts, the sweep is not cut off
    assert not stopping.done()
    sweeper.may_finish.set()
    await asyncio.wait_for(stopping, timeout=5)

    assert (sweeper.runs, sweeper.finished) == (1, 1)
    await asyncio.sleep(0.1)
    assert sweeper.runs == 1
    errors: list[Any] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == []


async def test_stopping_when_idle_returns_at_once() -> None:
    sweeper = SlowSweeper()
    sweeper.may_finish.set()
    scheduler = SweepScheduler(cast(Sweeper, sweeper), AlwaysLeader(), interval_seconds=60)
    scheduler.start()
    await asyncio.wait_for(sweeper.started.wait(), timeout=5)
    await asyncio.sleep(0.05)
    await asyncio.wait_for(scheduler.stop(), timeout=1)
    assert sweeper.runs == sweeper.finished == 1


async def test_a_tick_that_comes_during_a_long_sweep_runs_right_after_it() -> None:
    """Not skipped for a whole interval: a clock moved forward during a monthly review's drawing
    must not wait a minute for its steps (decision 0010)."""
    sweeper = SlowSweeper()
    scheduler = SweepScheduler(cast(Sweeper, sweeper), AlwaysLeader(), interval_seconds=2)
    scheduler.start()
    try:
        await asyncio.wait_for(sweeper.started.wait(), timeout=5)
        sweeper.started.clear()
        await asyncio.sleep(2.5)  # the tick of 2 s comes while the first sweep still runs
        assert sweeper.runs == 1
        sweeper.may_finish.set()
        await asyncio.wait_for(sweeper.started.wait(), timeout=1)  # not at the tick of 4 s
        assert sweeper.runs == 2
    finally:
        await scheduler.stop()
