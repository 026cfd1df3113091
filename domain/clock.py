"""Time is injected so that tests move it instead of sleeping."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current moment, timezone-aware."""
        ...


def _utc_now() -> datetime:
    return datetime.now(UTC)


class SystemClock:
    """Reads the system clock on every call; never caches (libfaketime must be able to shift it).

    Never goes back, though: a reading earlier than one already given out gives that one again,
    until the system clock passes it. A row stamped "due now" must be due for every later reader
    of the same process (the outbox would hold a reply back until the clock caught up), and
    timeline events keep their order. libfaketime's default build, re-reading its file from
    several threads at once, falls back to the file's moment or to the real time for an
    instant (decision 0010); an operator who sets the clock back restarts the service.
    """

    def __init__(self, read_system_clock: Callable[[], datetime] = _utc_now) -> None:
        self._read = read_system_clock
        self._latest = datetime.min.replace(tzinfo=UTC)

    def now(self) -> datetime:
        # Unlocked: threads racing here at worst keep a reading a few microseconds older.
        reading = self._read()
        if reading < self._latest:
            return self._latest
        self._latest = reading
        return reading


class FixedClock:
    """A clock that only moves when told to."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware datetime")
        self._now = start

    def now(self) -> datetime:
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = moment
