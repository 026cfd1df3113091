"""How long a loop that talks to a platform (polling, setting or deleting a webhook) pauses
after a failure before trying again."""

from __future__ import annotations

import math
from collections.abc import Callable

from bot.loop_clock import loop_time


class PollBackoff:
    """Quick failures (refused, 5xx, a handling error) double the pause, up to `longest`.

    A request for updates that failed only after a long poll's length (a timeout; or, on a loop
    that measures with a faked clock, the clock moved forward under it) paced the loop by
    itself: it is followed by the first pause, and the doubling starts over. Otherwise a few
    such failures in a row would leave people unanswered for up to `longest` seconds.
    """

    def __init__(
        self, first: float = 1.0, longest: float = 60.0, *, poll_seconds: float = math.inf,
        clock: Callable[[], float] = loop_time,
    ) -> None:
        self._poll_seconds = poll_seconds
        self._first = first
        self._longest = longest
        self._clock = clock
        self._pause = first
        self._asked_at = 0.0

    def asking(self) -> None:
        """Call right before each request for updates."""
        self._asked_at = self._now()

    def succeeded(self) -> None:
        self._pause = self._first

    def request_failed(self) -> float:
        """The pause to take now, after the request `asking()` preceded failed."""
        if self._now() - self._asked_at >= self._poll_seconds:
            self._pause = self._first
            return self._first
        return self.failed()

    def failed(self) -> float:
        """The pause to take now, after a quick failure; the next one is twice as long."""
        pause = self._pause
        self._pause = min(pause * 2, self._longest)
        return pause

    def _now(self) -> float:
        return self._clock()
