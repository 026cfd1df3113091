"""Which process sends the outbox: the one holding the lead.

With several `dlxh serve` processes on one PostgreSQL (webhook workers behind a load balancer),
one dispatcher sends everything, elected by a PostgreSQL advisory lock
(`scheduler.leader.PostgresLeader`; always this process on SQLite). Two dispatchers would each
pick up a reply the other is sending right now and send it twice; and a broadcast copy left
`sending` counts as sent at the next term, so a process taking over while another still sends
would settle copies that may yet be refused and lost. The other processes only write their
rows and tell the leader (`storage.outbox_signal`); taking the lead settles what the previous
holder left `sending`: it is gone, so nobody else is sending them.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from bot.loop_clock import loop_time

logger = logging.getLogger(__name__)


class Lead(Protocol):
    async def is_leader(self) -> bool: ...
    async def release(self) -> None: ...


class DispatchLead:
    """`holds()` asks the lead at most every `check_seconds` while holding it (is it still
    ours?) and every `retry_seconds` while not (a standby takes over within a second of the
    holder's going, so replies wait for no longer). `sends` is what the dispatcher goes by.
    Without a lead (a single process, tests, the console) this process always sends."""

    def __init__(
        self,
        lead: Lead | None,
        settle: Callable[[], Awaitable[int]],
        *,
        check_seconds: float = 5.0,
        retry_seconds: float = 1.0,
        monotonic: Callable[[], float] = loop_time,
    ) -> None:
        self._lead = lead
        self._settle = settle
        self._check_seconds = check_seconds
        self._retry_seconds = retry_seconds
        self._monotonic = monotonic
        self._checked: float | None = None
        self._holding = False

    @property
    def sends(self) -> bool:
        return self._lead is None or self._holding

    async def holds(self) -> bool:
        """Whether this process sends now; settles first when it has just taken the
        lead (an exception leaves it not holding, so the next call settles again)."""
        now = self._monotonic()
        wait = self._check_seconds if self._holding else self._retry_seconds
        if self._checked is not None and now - self._checked < wait:
            return self._holding
        holding = True if self._lead is None else await self._lead.is_leader()
        if holding and not self._holding:
            await self._settle()  # logs what it settled
        elif self._holding and not holding:
            logger.warning("lost the lead of the outbox; another process sends it now")
        self._holding = holding
        self._checked = now
        return holding

    async def release(self) -> None:
        if self._lead is not None and self._holding:
            self._holding = False
            await self._lead.release()
