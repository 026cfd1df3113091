"""One delivery of one outbox item: pacing, concurrency, the claim of a broadcast copy, the
send, and committing what became of it.

Replies first: conversation replies and notifications ("foreground") and broadcast copies
("background") have separate concurrency slots per channel, and background copies take the
channel's token only when no foreground send needs it (`ChannelPacer.wait_channel`). A reply
offered in the middle of a 10,000-copy broadcast therefore waits for at most one token, never
for the broadcast's queue. Slots are per channel, so a 429 pause on one channel (which holds its
senders inside their slots) never takes the slots of another.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import datetime

from bot.claims import ClaimBatcher
from bot.outcomes import Deferred, OutcomeRecorder, Result, Retry, RetryPolicy, Skipped, attempt
from bot.pacing import ChannelPacer
from domain.clock import Clock
from domain.delivery import Sender
from domain.messages import OutboxItem, Priority
from domain.ports import UnitOfWorkFactory


def is_broadcast(item: OutboxItem) -> bool:
    return item.priority >= Priority.BROADCAST


class Courier:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        senders: Mapping[str, Sender],
        pacers: Mapping[str, ChannelPacer],
        policy: RetryPolicy,
        *,
        concurrency: int,
        broadcast_concurrency: int,
        claim_retry_seconds: float,
        stopping: Callable[[], bool],
    ) -> None:
        self._senders = senders
        self._pacers = dict(pacers)
        self._policy = policy
        self._recorder = OutcomeRecorder(uow_factory, clock)
        self._claims = ClaimBatcher(uow_factory, self._put_back)
        self._limits = {False: concurrency, True: broadcast_concurrency}
        self._slots: dict[tuple[str, bool], asyncio.Semaphore] = {}
        self._claim_retry = claim_retry_seconds
        self._stopping = stopping
        self.claimed: set[int] = set()  # broadcast copies claimed, their outcome not recorded

    async def deliver(self, item: OutboxItem) -> Result:
        """Wait for the item's turn, claim it if it is a broadcast copy, and send it once."""
        pacer = self.pacer(item.channel)
        background = is_broadcast(item)
        if item.priority != Priority.CONVERSATION:
            # A reply is paced by the person's own typing; holding it back a second per
            # step only slows the conversation. Notifications and broadcasts are paced.
            await pacer.wait_chat(item.chat_id)
        async with self._slot(item.channel, background):
            await pacer.wait_channel(background=background)
            if background:
                if self._stopping():
                    return Deferred()  # not claimed: it stays pending for the next start
                claimed = await self._claims.claim(item)
                if claimed is None:
                    return Deferred()
                if not claimed:
                    return Skipped()  # cancelled by an opt-out since it was read
                self.claimed.add(item.id)
            return await attempt(self._senders[item.channel], item, pacer, self._policy)

    async def record(self, item: OutboxItem, result: Result) -> bool:
        """Commit what became of the item; False if it is still pending (nothing committed)."""
        if isinstance(result, Skipped):
            return True  # cancelled before its claim: nothing was sent, nothing to write
        if isinstance(result, Deferred):
            return False
        try:
            recorded = await self._recorder.record(item.id, result)
            while not recorded and is_broadcast(item) and not self._stopping():
                # A claimed copy whose outcome is not written stays `sending`: nobody would
                # send it again, and the next start would count it as sent. Keep trying.
                await asyncio.sleep(self._claim_retry)
                recorded = await self._recorder.record(item.id, result)
        finally:
            self.claimed.discard(item.id)
        return recorded

    async def settle_interrupted(self, now: datetime) -> int:
        return await self._claims.settle_interrupted(now)

    async def close(self, timeout: float) -> None:
        """Finish the claim and the outcome commits under way, within `timeout` seconds."""
        deadline = asyncio.get_running_loop().time() + timeout
        await self._claims.close(timeout)
        await self._recorder.close(max(0.0, deadline - asyncio.get_running_loop().time()))

    async def _put_back(self, item: OutboxItem) -> bool:
        """A copy claimed but not sent (the dispatcher stopped meanwhile): pending again."""
        return await self._recorder.record(
            item.id, Retry(item.attempts, 0.0, "claimed, not sent: the dispatcher stopped")
        )

    def pacer(self, channel: str) -> ChannelPacer:
        pacer = self._pacers.get(channel)
        if pacer is None:
            pacer = self._pacers[channel] = ChannelPacer.unlimited()
        return pacer

    def _slot(self, channel: str, background: bool) -> asyncio.Semaphore:
        slot = self._slots.get((channel, background))
        if slot is None:
            slot = self._slots[(channel, background)] = asyncio.Semaphore(self._limits[background])
        return slot
