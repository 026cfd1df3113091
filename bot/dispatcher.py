"""Sends the transactional outbox: paced per channel and per chat, in order per chat."""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
import random
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta

from bot.courier import Courier, is_broadcast
from bot.dispatch_lead import DispatchLead, Lead
from bot.outcomes import KEEP_TRYING_FOR, Retry, RetryPolicy
from bot.pacing import ChannelPacer
from bot.streams import Meanwhile, Stream, StreamKey, order, stream_key
from domain.clock import Clock
from domain.delivery import Sender
from domain.messages import OutboxItem
from domain.ports import UnitOfWorkFactory

logger = logging.getLogger(__name__)

class OutboxDispatcher:
    """Delivers pending outbox items: replies and notifications at least once, broadcast copies
    once (claimed before their send, see below).

    The outcome of a send is committed after the platform answered (by an `OutcomeRecorder`,
    several outcomes per unit of work). If that commit fails, or the process dies in between, a
    reply or notification stays pending and is sent again later: a rare duplicate message is
    preferred to a lost one. Until its outcome is committed a chat counts as busy, so nothing
    overtakes the item.

    Per (channel, chat) only the first pending item in (priority, id) order is attempted, and only
    once it is due, so a later message never overtakes one waiting for its retry. A chat's
    broadcast copies are a stream of their own: a conversation reply goes before an older
    broadcast copy to the same chat and never waits behind its pacing or backoff (see
    `bot.courier` for how replies also go first for slots and tokens). Chats are sent
    concurrently; each stream has at most one item in flight, and a stream whose item is still
    in flight is skipped by later passes, so a 429 pause on one channel never holds up another.

    Broadcast copies are only ever started by passes, at most a batch at a time (a 10,000-copy
    broadcast is not 10,000 tasks); a pass is woken when fewer than half a batch remain in
    flight and the last read showed more. Each copy is claimed (pending -> sending) right
    before its send: an opt-out that cancelled it meanwhile is honoured, and a copy is never
    sent by two passes or twice across a restart. `run()` first settles the copies a killed
    process left `sending` (as sent: the platform most likely has them).

    A pass reads the pending rows; it runs on `wake()`, after a chat's delivery when more of its
    items are pending, and every `idle_poll_seconds`. Rows handed over with `offer()` right after
    their commit skip the pass: an item goes out at once, or queues in memory behind its chat's
    item in flight, when the last pass showed nothing that must go before it. Chats where a pass
    saw more (a later item, a head not due yet) or whose item awaits a retry are "backlogged" and
    left to passes until a pass finds them clear again. The pass stays the source of truth: an
    offered item that is not sent directly is still pending and a pass picks it up.

    Channels without a sender are left pending (the console process dispatches its own).

    With a `lead` (several processes on one PostgreSQL) only the process holding it sends
    anything: the others leave what they commit pending and call `announce` (the leader's
    listener wakes its dispatcher, `storage.outbox_signal`), and make no passes.
    """

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        senders: Mapping[str, Sender],
        clock: Clock,
        pacers: Mapping[str, ChannelPacer] | None = None,
        *,
        batch_size: int = 200,
        idle_poll_seconds: float = 1.0,
        max_attempts: int = 8,
        backoff_base: float = 1.0,
        backoff_cap: float = 300.0,
        keep_trying_for: timedelta = KEEP_TRYING_FOR,
        concurrency: int = 16,
        broadcast_concurrency: int = 16,
        claim_retry_seconds: float = 1.0,
        jitter: Callable[[], float] = random.random,
        shutdown_grace_seconds: float = 5.0,
        lead: Lead | None = None,
        announce: Callable[[], None] | None = None,
    ) -> None:
        self._uow_factory = uow_factory
        self._senders = dict(senders)
        self._clock = clock
        self._batch_size = batch_size
        self._idle_poll = idle_poll_seconds
        self._shutdown_grace = shutdown_grace_seconds
        policy = RetryPolicy(max_attempts, backoff_base, backoff_cap, jitter,
                             keep_trying_for, clock.now)
        self._courier = Courier(
            uow_factory, clock, self._senders, pacers or {}, policy,
            concurrency=concurrency, broadcast_concurrency=broadcast_concurrency,
            claim_retry_seconds=claim_retry_seconds, stopping=lambda: self._stopping,
        )
        self._broadcasts_in_flight = 0
        self._lead = DispatchLead(
            lead, lambda: self._courier.settle_interrupted(self._clock.now())
        )
        self._announce = announce
        self._wake = asyncio.Event()
        self._stopping = False
        self._in_flight: dict[StreamKey, Stream] = {}
        self._readers: list[Meanwhile] = []
        self._without_sender: set[str] = set()
        # What the last pass showed, for offer() to trust: chats that may have pending items
        # before an offered one, the highest id seen (an offered item with an id at or below it
        # may already have been started by a pass), and per channel the (priority, id) beyond
        # which a truncated read showed nothing (absent: the read showed all). Stale until a
        # pass has read since the last wake().
        self._backlogged: set[StreamKey] = set()
        self._max_seen_id = 0
        self._horizons: dict[str, tuple[int, int]] = {}
        self._wakes = 1
        self._synced = 0

    def wake(self) -> None:
        """Call after committing outbox rows that were not offered: a pass reads them now.

        Until that pass has read, offered items are left to passes too, as the unseen rows may
        have to go before them.
        """
        self.rows_committed_elsewhere()
        self._tell_the_leader()

    def rows_committed_elsewhere(self) -> None:
        """Another process committed outbox rows (its notification): a pass reads them now."""
        self._wakes += 1
        self._wake.set()

    def offer(self, items: Sequence[OutboxItem]) -> None:
        """Hand over the items one commit just wrote, in order: the fast path, without a read.

        Broadcast copies are not started here: a pass takes them a batch at a time.
        """
        if not self._lead.sends:
            self._tell_the_leader()  # the rows stay pending for the leader's pass
            return
        needs_pass = False
        for item in items:
            key = stream_key(item)
            chat = self._in_flight.get(key)
            if self._stopping or item.channel not in self._senders:
                continue  # stays pending; the pass logs the missing sender
            if is_broadcast(item):
                needs_pass = True
                continue
            if not self._may_skip_pass(item, key):
                self._backlog(key)
                needs_pass = needs_pass or chat is None  # a busy chat wakes a pass when done
            elif chat is None:
                self._start(item, offered=True)
            else:
                bisect.insort(chat.queue, item, key=order)
        if needs_pass:
            self._wake.set()

    def _tell_the_leader(self) -> None:
        if not self._lead.sends and self._announce is not None:
            self._announce()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        """Passes until `stop()`, while this process holds the lead (with several processes on
        one database), after settling what the last holder left."""
        try:
            while not self._stopping:
                self._wake.clear()
                try:
                    if await self._lead.holds():  # before anything is claimed
                        await self._launch()
                except Exception:
                    logger.exception("reading the outbox failed; trying again later")
                await self._idle()
        finally:
            await self._finish_in_flight()
            with contextlib.suppress(Exception):
                await self._lead.release()

    async def run_once(self) -> int:
        """One pass; waits for every send it started and every offered send under way (and
        their recorded outcomes). Returns how many items the pass itself started."""
        tasks = await self._launch()
        offered = [chat.task for chat in self._in_flight.values() if chat.offered]
        await asyncio.gather(*tasks, *offered)
        return len(tasks)

    async def _idle(self) -> None:
        if self._stopping:
            return
        # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation that arrives
        # as the wait ends, and the loop would then never stop.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._idle_poll):
                await self._wake.wait()

    async def _finish_in_flight(self) -> None:
        deadline = asyncio.get_running_loop().time() + self._shutdown_grace
        for key, chat in self._in_flight.items():
            if key[2] and chat.current.id not in self._courier.claimed:
                chat.task.cancel()  # a copy still waiting for its turn: pending for next time
        tasks = [chat.task for chat in self._in_flight.values()]
        if tasks:
            _, unfinished = await asyncio.wait(tasks, timeout=self._shutdown_grace)
            for task in unfinished:
                task.cancel()  # still waiting for its turn; the item simply stays pending
            await asyncio.gather(*unfinished, return_exceptions=True)
        await self._courier.close(max(0.0, deadline - asyncio.get_running_loop().time()))

    def _may_skip_pass(self, item: OutboxItem, key: StreamKey) -> bool:
        return (
            self._synced == self._wakes
            and key not in self._backlogged
            and item.id > self._max_seen_id
            and (item.channel not in self._horizons or order(item) < self._horizons[item.channel])
            and item.next_attempt_at <= self._clock.now()
        )

    def _backlog(self, key: StreamKey) -> None:
        """The chat may have pending items the dispatcher does not hold: passes deal with it."""
        self._backlogged.add(key)
        for meanwhile in self._readers:
            meanwhile.touched.add(key)

    async def _launch(self) -> list[asyncio.Task[None]]:
        meanwhile = Meanwhile()
        wakes = self._wakes
        self._readers.append(meanwhile)
        try:
            # Each channel's own batch: rows of a channel that waits (a 429 pause, an outage, a
            # slower rate) must not fill the read and keep the other channel's rows unseen.
            async with self._uow_factory() as uow:
                read = {
                    channel: await uow.outbox.pending(self._batch_size, [channel])
                    for channel in sorted(self._senders)
                }
        finally:
            self._readers.remove(meanwhile)
        items = [item for channel_items in read.values() for item in channel_items]
        complete = {channel for channel, got in read.items() if len(got) < self._batch_size}
        tasks = self._plan(items, meanwhile, complete)
        self._max_seen_id = max([self._max_seen_id, *(item.id for item in items)])
        self._horizons = {
            channel: max(order(item) for item in got)
            for channel, got in read.items() if channel not in complete
        }
        self._synced = wakes
        return tasks

    def _plan(
        self, items: list[OutboxItem], meanwhile: Meanwhile, complete: set[str]
    ) -> list[asyncio.Task[None]]:
        """Start every idle chat's first item if due; note which chats are backlogged.
        `complete`: the channels whose every pending item the read showed."""
        now = self._clock.now()
        chats: dict[StreamKey, list[OutboxItem]] = {}
        for item in sorted(items, key=order):
            if item.id not in meanwhile.settled and self._has_sender(item.channel):
                chats.setdefault(stream_key(item), []).append(item)
        tasks = []
        for key, pending in chats.items():
            busy = self._in_flight.get(key)
            if key in meanwhile.touched:
                # Its state changed during the read: start nothing, the next pass looks again.
                if any(busy is None or not busy.holds(item.id) for item in pending):
                    self._backlogged.add(key)
                    self._wake.set()
                continue
            if busy is not None:
                clear = all(busy.holds(item.id) for item in pending)
            elif pending[0].next_attempt_at > now:
                clear = False
            else:
                tasks.append(self._start(pending[0], offered=False).task)
                clear = len(pending) == 1
            if clear:
                self._backlogged.discard(key)
            else:
                self._backlogged.add(key)
        seen = chats.keys() | meanwhile.touched
        self._backlogged = {
            key for key in self._backlogged if key[0] not in complete or key in seen
        }
        return tasks

    def _has_sender(self, channel: str) -> bool:
        if channel in self._senders:
            return True
        if channel not in self._without_sender:
            self._without_sender.add(channel)
            logger.info("no sender for channel %r here; its outbox items stay pending", channel)
        return False

    def _start(self, item: OutboxItem, *, offered: bool) -> Stream:
        key = stream_key(item)
        chat = Stream(item, offered)
        chat.task = asyncio.create_task(self._serve(key, chat), name=f"outbox-{item.id}")
        self._in_flight[key] = chat
        if key[2]:
            self._broadcasts_in_flight += 1
        return chat

    async def _serve(self, key: StreamKey, chat: Stream) -> None:
        """Deliver the chat's item, then the items queued behind it, each once its predecessor's
        outcome is committed; stop at the first item still pending afterwards."""
        wake = done = settled = False
        try:
            while True:
                item = chat.current
                result = await self._courier.deliver(item)
                left_pending = not await self._courier.record(item, result)
                settled = not left_pending and not isinstance(result, Retry)
                if not settled:
                    self._backlog(key)  # passes retry it, then send what queued behind it
                for meanwhile in self._readers:
                    meanwhile.touched.add(key)
                    if settled:
                        meanwhile.settled.add(item.id)
                if key in self._backlogged:
                    wake = settled
                    break
                if not chat.queue or self._stopping:
                    break  # whatever is still queued stays pending for the next start
                chat.current = chat.queue.pop(0)
            done = True
        finally:
            if not done:
                self._backlog(key)
            del self._in_flight[key]
            if key[2]:
                self._broadcasts_in_flight -= 1
                # Refill before the copies in flight run out, if the last read showed more (not
                # after a failed claim: the idle poll retries that, without a tight loop).
                low = self._broadcasts_in_flight < max(1, self._batch_size // 2)
                wake = wake or (settled and low and key[0] in self._horizons)
        if wake:
            self._wake.set()  # the chat's next pending item is eligible now
