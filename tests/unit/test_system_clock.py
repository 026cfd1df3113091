"""The domain's system clock: read at every call, never backwards (domain/clock.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.clock import SystemClock

NINE = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)


def test_each_call_reads_the_system_clock_again() -> None:
    readings = iter([NINE, NINE + timedelta(days=3)])  # libfaketime moved it between two calls
    clock = SystemClock(lambda: next(readings))
    assert clock.now() == NINE
    assert clock.now() == NINE + timedelta(days=3)


def test_a_reading_earlier_than_one_given_out_gives_that_one_again() -> None:
    """libfaketime's default build, read from several threads, falls back for an instant: a
    reply stamped due at 09:05 must stay due for the outbox's next look at the clock."""
    later = NINE + timedelta(minutes=5)
    readings = iter([NINE, later, NINE - timedelta(days=2), NINE, later + timedelta(seconds=1)])
    clock = SystemClock(lambda: next(readings))
    seen = [clock.now() for _ in range(5)]
    assert seen == [NINE, later, later, later, later + timedelta(seconds=1)]


def test_without_a_reader_it_reads_the_real_utc_time() -> None:
    before = datetime.now(UTC)
    read = SystemClock().now()
    assert before <= read <= datetime.now(UTC) and read.tzinfo is not None
