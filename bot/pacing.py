"""Outgoing rate limits: token buckets for a whole channel and for each chat, plus a 429 pause.

Two kinds of callers share a channel's overall bucket: foreground ones (conversation replies,
notifications) reserve their token at once and never queue behind background ones (broadcast
copies), which take a token only when one is free, one at a time. The average rate holds for
both together, since every send takes a token.

Only the event loop's monotonic clock is used here (`bot/loop_clock.py`); the domain clock
(which tests and libfaketime move) decides when an outbox item is due, not how long to wait
between two sends.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable

from bot.loop_clock import loop_time

MonotonicClock = Callable[[], float]
_EPSILON = 1e-9  # float rounding of elapsed * rate must not cost another sleep
_MIN_SLEEP = 1e-6
Sleep = Callable[[float], Awaitable[None]]


def _check_rate(rate_per_second: float, burst: float) -> None:
    if not rate_per_second > 0:
        raise ValueError("rate_per_second must be positive")
    if not burst >= 1:
        raise ValueError("burst must be at least 1, or no token could ever be taken")


class TokenBucket:
    """`rate_per_second` acquisitions on average, up to `burst` back to back.

    A caller reserves its token at once (the balance may go negative) and then sleeps until the
    balance would have covered it: concurrent callers are served in the order they asked and
    nobody needs a lock. `math.inf` as the rate means unlimited.
    """

    def __init__(
        self,
        rate_per_second: float,
        burst: float,
        clock: MonotonicClock = loop_time,
        *,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        _check_rate(rate_per_second, burst)
        self._rate = rate_per_second
        self._burst = burst
        self._clock = clock
        self._sleep = sleep
        self._tokens = burst
        self._updated = clock()

    def delay(self) -> float:
        """Seconds a caller of `acquire()` would wait now."""
        self._refill()
        return self._seconds_for(1.0 - self._tokens)

    async def acquire(self) -> None:
        self._refill()
        self._tokens -= 1.0
        wait = self._seconds_for(-self._tokens)
        if wait <= 0:
            return
        try:
            await self._sleep(wait)
        except asyncio.CancelledError:
            self._tokens += 1.0  # the reservation was never used
            raise

    async def acquire_spare(self) -> None:
        """Take a token only once a whole one is free, never reserving ahead.

        Callers of `acquire()` reserve (the balance may go negative) and are served first: a
        spare-token caller waits until their debt is repaid. Meant for one caller at a time
        (`ChannelPacer` holds a lock), or concurrent ones would all wake for each token.
        """
        while True:
            self._refill()
            if self._tokens >= 1.0 - _EPSILON:
                self._tokens -= 1.0
                return
            await self._sleep(max(self._seconds_for(1.0 - self._tokens), _MIN_SLEEP))

    def is_idle(self) -> bool:
        """Full again, so indistinguishable from a new bucket: safe to forget."""
        self._refill()
        return self._tokens >= self._burst

    def _refill(self) -> None:
        now = self._clock()
        elapsed = max(0.0, now - self._updated)
        self._updated = now
        if math.isinf(self._rate):
            self._tokens = self._burst
        else:
            self._tokens = min(self._burst, self._tokens + elapsed * self._rate)

    def _seconds_for(self, deficit: float) -> float:
        if deficit <= 0 or math.isinf(self._rate):
            return 0.0
        return deficit / self._rate


class ChannelPacer:
    """Pacing of one channel: an overall bucket, one bucket per chat, and a channel-wide pause.

    Per-chat buckets are created on first use and dropped once full again (checked at most every
    `sweep_seconds`), so a broadcast to many chats does not leave one bucket per chat behind.
    The overall burst defaults to 1, i.e. evenly spaced sends: the platforms count per second and
    a burst at the edge of one second plus the next would exceed their limit.
    """

    def __init__(
        self,
        overall_rate: float,
        per_chat_rate: float,
        per_chat_burst: float = 1.0,
        *,
        overall_burst: float = 1.0,
        clock: MonotonicClock = loop_time,
        sleep: Sleep = asyncio.sleep,
        sweep_seconds: float = 60.0,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._overall = TokenBucket(overall_rate, overall_burst, clock, sleep=sleep)
        self._per_chat_rate = per_chat_rate
        self._per_chat_burst = per_chat_burst
        _check_rate(per_chat_rate, per_chat_burst)
        self._chats: dict[str, TokenBucket] = {}
        self._sweep_seconds = sweep_seconds
        self._last_sweep = clock()
        self._paused_until = -math.inf
        self._background = asyncio.Lock()

    @classmethod
    def unlimited(
        cls, *, clock: MonotonicClock = loop_time, sleep: Sleep = asyncio.sleep
    ) -> ChannelPacer:
        """No rate limit, but still honours `pause_until` (a 429 on an unpaced channel)."""
        return cls(math.inf, math.inf, clock=clock, sleep=sleep)

    @property
    def tracked_chats(self) -> int:
        return len(self._chats)

    def pause_until(self, monotonic_time: float) -> None:
        """Hold every send on this channel until then; an earlier pause never shortens a later."""
        self._paused_until = max(self._paused_until, monotonic_time)

    def pause_for(self, seconds: float) -> None:
        self.pause_until(self._clock() + seconds)

    def paused_for(self) -> float:
        return max(0.0, self._paused_until - self._clock())

    async def acquire(self, chat_id: str) -> None:
        await self.wait_chat(chat_id)
        await self.wait_channel()

    async def wait_chat(self, chat_id: str) -> None:
        """The per-chat part; callers may take it before a concurrency slot (it can be long)."""
        await self._wait_pause()
        await self._bucket(chat_id).acquire()

    async def wait_channel(self, *, background: bool = False) -> None:
        """The overall part; take it right before sending, so sends are not bunched up later.

        `background` callers (broadcast copies) queue among themselves and take a token only
        when no foreground caller needs it: a reply never waits behind a broadcast's queue.
        """
        await self._wait_pause()
        if background:
            async with self._background:
                await self._wait_pause()
                await self._overall.acquire_spare()
        else:
            await self._overall.acquire()
        await self._wait_pause()  # a 429 may have arrived while we waited for the token

    async def _wait_pause(self) -> None:
        while (left := self.paused_for()) > 0:
            await self._sleep(left)

    def _bucket(self, chat_id: str) -> TokenBucket:
        self._sweep()
        bucket = self._chats.get(chat_id)
        if bucket is None:
            bucket = TokenBucket(
                self._per_chat_rate, self._per_chat_burst, self._clock, sleep=self._sleep
            )
            self._chats[chat_id] = bucket
        return bucket

    def _sweep(self) -> None:
        now = self._clock()
        if now - self._last_sweep < self._sweep_seconds:
            return
        self._last_sweep = now
        self._chats = {chat: b for chat, b in self._chats.items() if not b.is_idle()}
