"""Rate limits and scheduled faults shared by the fake Telegram and Zalo servers.

``RateLimit`` refuses calls beyond a rate over any sliding second, overall and per chat, as the
platforms do (answered 429 with ``retry_after``). ``FaultSchedule`` answers chosen calls with an
error by their number: the N-th call of a method, or every N-th one, which long runs (the e2e
broadcast tests, ``bench/broadcast.py``) use to inject 429s and 5xx errors deterministically.
A refused call never reaches the method, so it is never recorded as delivered.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Collection, Hashable
from dataclasses import dataclass, field


class RateLimit:
    """At most ``per_second`` calls overall and ``per_chat_per_second`` per chat in any
    ``window`` seconds; ``None`` is no limit."""

    def __init__(
        self,
        per_second: float | None = None,
        per_chat_per_second: float | None = None,
        *,
        window: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_second = per_second
        self.per_chat_per_second = per_chat_per_second
        self.window = window
        self.throttled = 0  # calls refused
        self.passed = 0  # calls let through
        self._clock = clock
        self._hits: deque[float] = deque()
        self._chat_hits: dict[Hashable, deque[float]] = {}

    def check(self, chat: Hashable) -> int | None:
        """Seconds to wait (a refusal), or None: the call is counted and may go."""
        now = self._clock()
        windows = [(self._hits, self.per_second)]
        if self.per_chat_per_second is not None:  # chats are only tracked when limited
            chat_hits = self._chat_hits.setdefault(chat, deque())
            windows.append((chat_hits, self.per_chat_per_second))
        for hits, limit in windows:
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if limit is not None and len(hits) >= limit * self.window:
                self.throttled += 1
                return max(1, math.ceil(hits[0] + self.window - now))
        for hits, _ in windows:
            hits.append(now)
        self.passed += 1
        return None


@dataclass
class Fault:
    status: int
    retry_after: int | None
    description: str


@dataclass
class _Rule:
    method: str  # lower case; "*" for any method
    fault: Fault
    every: int | None
    calls: frozenset[int]
    start: int
    chats: frozenset[Hashable] | None


@dataclass
class FaultSchedule:
    """Faults by call number, counted per method (and for "*" over every method)."""

    rules: list[_Rule] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    injected: int = 0

    def add(
        self,
        method: str,
        fault: Fault,
        *,
        every: int | None = None,
        calls: Collection[int] = (),
        start: int | None = None,
        chats: Collection[Hashable] | None = None,
    ) -> None:
        """``calls``: these call numbers (1 = the first call from now on); ``every``: every
        ``every``-th call, the first being call ``start`` (default ``every``). ``chats`` limits
        the rule to calls for those chats (others are still counted)."""
        if every is not None and every < 1:
            raise ValueError("every must be at least 1")
        key = method.lower()
        base = self.counts.get(key, 0)
        first = base + (start if start is not None else (every or 0))
        self.rules.append(_Rule(
            key, fault, every, frozenset(base + n for n in calls), first,
            frozenset(chats) if chats is not None else None,
        ))

    def clear(self) -> None:
        self.rules.clear()

    def check(self, method: str, chat: Hashable) -> Fault | None:
        """Count the call; the fault it must be answered with, if any."""
        numbers = {}
        for key in (method.lower(), "*"):
            self.counts[key] = numbers[key] = self.counts.get(key, 0) + 1
        for rule in self.rules:
            number = numbers.get(rule.method)
            if number is None or (rule.chats is not None and chat not in rule.chats):
                continue
            periodic = (
                rule.every is not None and number >= rule.start
                and (number - rule.start) % rule.every == 0
            )
            if number in rule.calls or periodic:
                self.injected += 1
                return rule.fault
        return None
