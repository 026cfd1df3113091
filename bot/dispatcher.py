"""Sends the transactional outbox: paced per channel and per chat, in order per chat."""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from bot.outcomes import Outcome, OutcomeRecorder, Retry, RetryPolicy, attempt
from bot.pacing import ChannelPacer
from domain.clock import Clock
from domain.delivery import Sender
from domain.messages import OutboxItem, Priority
from domain.ports import UnitOfWorkFactory

logger = logging.getLogger(__name__)

ChatKey = tuple[str, str]


def _order(item: OutboxItem) -> tuple[int, int]:
    return (item.priority, item.id)


@dataclass(eq=False)
class _Chat:
    """A chat with a delivery under way: the item being sent, then offered items behind it."""

    current: OutboxItem
    offered: bool  # started by offer(): no pass waits for it
    queue: list[OutboxItem] = field(default_factory=list)
    task: asyncio.Task[None] = field(init=False)

    def holds(self, item_id: int) -> bool:
        return item_id == self.current.id or any(i.id == item_id for i in self.queue)


@dataclass
class _Meanwhile:
    """What happened while a pass was reading; its snapshot may predate it."""

    settled: set[int] = field(default_factory=set)  # items that left the pending state
    touched: set[ChatKey] = field(default_factory=set)  # chats the snapshot is stale for


class OutboxDispatcher:
    """Delivers pending outbox items, at least once.

    The outcome of a send is committed after the platform answered (by an `OutcomeRecorder`,
    several outcomes per unit of work). If that commit fails, or the process dies in between, the
    item stays pending and is sent again later: a rare duplicate message is preferred to a lost
    one. Until its outcome is committed a chat counts as busy, so nothing overtakes the item.

    Per (channel, chat) only the first pending item in (priority, id) order is attempted, and only
    once it is due, so a later message never overtakes one waiting for its retry. Across priorities
    a conversation reply does go before an older broadcast to the same chat: they are independent
    streams and a reply must not wait behind a broadcast's backoff. Chats are sent concurrently;
    each chat has at most one item in flight, and a chat whose item is still in flight is skipped
    by later passes, so a 429 pause on one channel never holds up another.

    A pass reads the pending rows; it runs on `wake()`, after a chat's delivery when more of its
    items are pending, and every `idle_poll_seconds`. Rows handed over with `offer()` right after
    their commit skip the pass: an item goes out at once, or queues in memory behind its chat's
    item in flight, when the last pass showed nothing that must go before it. Chats where a pass
    saw more (a later item, a head not due yet) or whose item awaits a retry are "backlogged" and
    left to passes until a pass finds them clear again. The pass stays the source of truth: an
    offered item that is not sent directly is still pending and a pass picks it up.

    Channels without a sender are left pending (the console process dispatches its own).
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
        concurrency: int = 16,
        jitter: Callable[[], float] = random.random,
        shutdown_grace_seconds: float = 5.0,
    ) -> None:
        self._uow_factory = uow_factory
        self._senders = dict(senders)
        self._clock = clock
        self._pacers = dict(pacers or {})
        self._batch_size = batch_size
        self._idle_poll = idle_poll_seconds
        self._policy = RetryPolicy(max_attempts, backoff_base, backoff_cap, jitter)
        self._shutdown_grace = shutdown_grace_seconds
        self._semaphore = asyncio.Semaphore(concurrency)
        self._recorder = OutcomeRecorder(uow_factory, clock)
        self._wake = asyncio.Event()
        self._stopping = False
        self._in_flight: dict[ChatKey, _Chat] = {}
        self._readers: list[_Meanwhile] = []
        self._without_sender: set[str] = set()
        # What the last pass showed, for offer() to trust: chats that may have pending items
        # before an offered one, the highest id seen (an offered item with an id at or below it
        # may already have been started by a pass), and the (priority, id) beyond which a
        # truncated read showed nothing. Stale until a pass has read since the last wake().
        self._backlogged: set[ChatKey] = set()
        self._max_seen_id = 0
        self._horizon: tuple[int, int] | None = None
        self._wakes = 1
        self._synced = 0

    def wake(self) -> None:
        """Call after committing outbox rows that were not offered: a pass reads them now.

        Until that pass has read, offered items are left to passes too, as the unseen rows may
        have to go before them.
        """
        self._wakes += 1
        self._wake.set()

    def offer(self, items: Sequence[OutboxItem]) -> None:
        """Hand over the items one commit just wrote, in order: the fast path, without a read."""
        needs_pass = False
        for item in items:
            key = (item.channel, item.chat_id)
            chat = self._in_flight.get(key)
            if self._stopping or item.channel not in self._senders:
                continue  # stays pending; the pass logs the missing sender
            if not self._may_skip_pass(item, key):
                self._backlog(key)
                needs_pass = needs_pass or chat is None  # a busy chat wakes a pass when done
            elif chat is None:
                self._start(item, offered=True)
            else:
                bisect.insort(chat.queue, item, key=_order)
        if needs_pass:
            self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        try:
            while not self._stopping:
                self._wake.clear()
                try:
                    await self._launch()
                except Exception:
                    logger.exception("reading the outbox failed; trying again later")
                await self._idle()
        finally:
            await self._finish_in_flight()

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
        tasks = [chat.task for chat in self._in_flight.values()]
        if tasks:
            _, unfinished = await asyncio.wait(tasks, timeout=self._shutdown_grace)
            for task in unfinished:
                task.cancel()  # still waiting for its turn; the item simply stays pending
            await asyncio.gather(*unfinished, return_exceptions=True)
        await self._recorder.close(max(0.0, deadline - asyncio.get_running_loop().time()))

    def _may_skip_pass(self, item: OutboxItem, key: ChatKey) -> bool:
        return (
            self._synced == self._wakes
            and key not in self._backlogged
            and item.id > self._max_seen_id
            and (self._horizon is None or _order(item) < self._horizon)
            and item.next_attempt_at <= self._clock.now()
        )

    def _backlog(self, key: ChatKey) -> None:
        """The chat may have pending items the dispatcher does not hold: passes deal with it."""
        self._backlogged.add(key)
        for meanwhile in self._readers:
            meanwhile.touched.add(key)

    async def _launch(self) -> list[asyncio.Task[None]]:
        meanwhile = _Meanwhile()
        wakes = self._wakes
        self._readers.append(meanwhile)
        try:
            async with self._uow_factory() as uow:
                items = await uow.outbox.pending(self._batch_size, self._senders.keys())
        finally:
            self._readers.remove(meanwhile)
        tasks = self._plan(items, meanwhile)
        complete = len(items) < self._batch_size
        self._max_seen_id = max([self._max_seen_id, *(item.id for item in items)])
        self._horizon = None if complete else max(_order(item) for item in items)
        self._synced = wakes
        return tasks

    def _plan(self, items: list[OutboxItem], meanwhile: _Meanwhile) -> list[asyncio.Task[None]]:
        """Start every idle chat's first item if due; note which chats are backlogged."""
        now = self._clock.now()
        chats: dict[ChatKey, list[OutboxItem]] = {}
        for item in sorted(items, key=_order):
            if item.id not in meanwhile.settled and self._has_sender(item.channel):
                chats.setdefault((item.channel, item.chat_id), []).append(item)
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
        if len(items) < self._batch_size:  # the read showed every pending item
            self._backlogged.intersection_update(chats.keys() | meanwhile.touched)
        return tasks

    def _has_sender(self, channel: str) -> bool:
        if channel in self._senders:
            return True
        if channel not in self._without_sender:
            self._without_sender.add(channel)
            logger.info("no sender for channel %r here; its outbox items stay pending", channel)
        return False

    def _start(self, item: OutboxItem, *, offered: bool) -> _Chat:
        key = (item.channel, item.chat_id)
        chat = _Chat(item, offered)
        chat.task = asyncio.create_task(self._serve(key, chat), name=f"outbox-{item.id}")
        self._in_flight[key] = chat
        return chat

    async def _serve(self, key: ChatKey, chat: _Chat) -> None:
        """Deliver the chat's item, then the items queued behind it, each once its predecessor's
        outcome is committed; stop at the first item still pending afterwards."""
        wake = done = False
        try:
            while True:
                item = chat.current
                outcome = await self._deliver(item)
                left_pending = not await self._recorder.record(item.id, outcome)
                if left_pending or isinstance(outcome, Retry):
                    self._backlog(key)  # passes retry it, then send what queued behind it
                for meanwhile in self._readers:
                    meanwhile.touched.add(key)
                    if not left_pending and not isinstance(outcome, Retry):
                        meanwhile.settled.add(item.id)
                if key in self._backlogged:
                    wake = not left_pending and not isinstance(outcome, Retry)
                    break
                if not chat.queue or self._stopping:
                    break  # whatever is still queued stays pending for the next start
                chat.current = chat.queue.pop(0)
            done = True
        finally:
            if not done:
                self._backlog(key)
            del self._in_flight[key]
        if wake:
            self._wake.set()  # the chat's next pending item is eligible now

    async def _deliver(self, item: OutboxItem) -> Outcome:
        pacer = self._pacer(item.channel)
        if item.priority != Priority.CONVERSATION:
            # A reply is paced by the person's own typing; holding it back a second per
            # step only slows the conversation. Notifications and broadcasts are paced.
            await pacer.wait_chat(item.chat_id)
        async with self._semaphore:
            await pacer.wait_channel()
            return await attempt(self._senders[item.channel], item, pacer, self._policy)

    def _pacer(self, channel: str) -> ChannelPacer:
        pacer = self._pacers.get(channel)
        if pacer is None:
            pacer = self._pacers[channel] = ChannelPacer.unlimited()
        return pacer
