"""Which process sends broadcast copies: the one holding the lead.

Replies and notifications are sent by whichever process wrote them (or by any pass). Broadcast
copies are claimed before their send, and a copy left `sending` counts as sent at the next
start; with several `dlxh serve` processes on one PostgreSQL, a process starting would settle
the copies another is sending right now, and one of those answered 429 would then be lost.
So copies are sent by one process only, elected by a PostgreSQL advisory lock
(`scheduler.leader.PostgresLeader`, always this process on SQLite). Taking the lead settles what
the previous holder left `sending`: it is gone, so nobody else is sending them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

logger = logging.getLogger(__name__)


class Lead(Protocol):
    async def is_leader(self) -> bool: ...
    async def release(self) -> None: ...


class CopyLead:
    """`holds()` asks the lead at most every `check_seconds`; `allows_copies` is what passes
    go by. Without a lead (a single process, tests, the console) copies are always allowed."""

    def __init__(
        self,
        lead: Lead | None,
        settle: Callable[[], Awaitable[int]],
        *,
        check_seconds: float = 5.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lead = lead
        self._settle = settle
        self._check_seconds = check_seconds
        self._monotonic = monotonic
        self._checked: float | None = None
        self._holding = False

    @property
    def allows_copies(self) -> bool:
        return self._lead is None or self._holding

    async def holds(self) -> bool:
        """Whether this process sends copies now; settles first when it has just taken the
        lead (an exception leaves it not holding, so the next call settles again)."""
        now = self._monotonic()
        if self._checked is not None and now - self._checked < self._check_seconds:
            return self._holding
        holding = True if self._lead is None else await self._lead.is_leader()
        if holding and not self._holding:
            await self._settle()  # logs what it settled
        elif self._holding and not holding:
            logger.warning("lost the lead for broadcast copies; another process sends them now")
        self._holding = holding
        self._checked = now
        return holding

    async def release(self) -> None:
        if self._lead is not None and self._holding:
            self._holding = False
            await self._lead.release()
