"""Sends the transactional outbox: paced per channel and per chat, in order per chat."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.pacing import ChannelPacer
from domain.clock import Clock
from domain.delivery import PermanentFailure, RetryAfter, Sender, TemporaryFailure
from domain.messages import OutboxItem, Priority
from domain.ports import OutboxRepository, UnitOfWorkFactory

logger = logging.getLogger(__name__)

ChatKey = tuple[str, str]
_MAX_ERROR_CHARS = 500


@dataclass(frozen=True)
class _Sent:
    pass


@dataclass(frozen=True)
class _Retry:
    attempts: int
    delay_seconds: float
    error: str


@dataclass(frozen=True)
class _Failed:
    error: str


_Outcome = _Sent | _Retry | _Failed


class OutboxDispatcher:
    """Delivers pending outbox items, at least once.

    The outcome of a send is committed in a unit of work of its own after the platform answered.
    If that commit fails, or the process dies in between, the item stays pending and is sent again
    later: a rare duplicate message is preferred to a lost one.

    Per (channel, chat) only the first pending item in (priority, id) order is attempted, and only
    once it is due, so a later message never overtakes one waiting for its retry. Across priorities
    a conversation reply does go before an older broadcast to the same chat: they are independent
    streams and a reply must not wait behind a broadcast's backoff. Chats are sent concurrently;
    each chat has at most one item in flight, and a chat whose item is still in flight is skipped
    by later passes, so a 429 pause on one channel never holds up another.

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
        self._max_attempts = max_attempts
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._jitter = jitter
        self._shutdown_grace = shutdown_grace_seconds
        self._semaphore = asyncio.Semaphore(concurrency)
        self._wake = asyncio.Event()
        self._stopping = False
        self._in_flight: dict[ChatKey, asyncio.Task[None]] = {}
        # Chats whose in-flight item finished while a pass was reading: that pass's snapshot may
        # predate the outcome, so it must leave those chats to the next pass.
        self._readers: list[set[ChatKey]] = []
        self._without_sender: set[str] = set()

    def wake(self) -> None:
        """Call after committing outbox rows so they go out now rather than at the next poll."""
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
        """One pass, waiting for every send it started; returns how many items it attempted."""
        tasks = await self._launch()
        if tasks:
            await asyncio.gather(*tasks)
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
        tasks = list(self._in_flight.values())
        if not tasks:
            return
        _, unfinished = await asyncio.wait(tasks, timeout=self._shutdown_grace)
        for task in unfinished:
            task.cancel()  # still waiting for its turn; the item simply stays pending
        await asyncio.gather(*unfinished, return_exceptions=True)

    async def _launch(self) -> list[asyncio.Task[None]]:
        finished_meanwhile: set[ChatKey] = set()
        self._readers.append(finished_meanwhile)
        try:
            async with self._uow_factory() as uow:
                items = await uow.outbox.pending(self._batch_size)
        finally:
            self._readers.remove(finished_meanwhile)
        eligible = [
            item for item in self._heads(items)
            if (item.channel, item.chat_id) not in finished_meanwhile
        ]
        return [self._start(item) for item in eligible]

    def _heads(self, items: list[OutboxItem]) -> list[OutboxItem]:
        """The first item of every chat, if it is due, not in flight and has a sender."""
        now = self._clock.now()
        heads: dict[ChatKey, OutboxItem] = {}
        for item in sorted(items, key=lambda i: (i.priority, i.id)):
            heads.setdefault((item.channel, item.chat_id), item)
        return [
            item for key, item in heads.items()
            if key not in self._in_flight
            and item.next_attempt_at <= now
            and self._has_sender(item.channel)
        ]

    def _has_sender(self, channel: str) -> bool:
        if channel in self._senders:
            return True
        if channel not in self._without_sender:
            self._without_sender.add(channel)
            logger.info("no sender for channel %r here; its outbox items stay pending", channel)
        return False

    def _start(self, item: OutboxItem) -> asyncio.Task[None]:
        task = asyncio.create_task(self._deliver(item), name=f"outbox-{item.id}")
        self._in_flight[(item.channel, item.chat_id)] = task
        return task

    async def _deliver(self, item: OutboxItem) -> None:
        key = (item.channel, item.chat_id)
        settled = False
        try:
            pacer = self._pacer(item.channel)
            if item.priority != Priority.CONVERSATION:
                # A reply is paced by the person's own typing; holding it back a second per
                # step only slows the conversation. Notifications and broadcasts are paced.
                await pacer.wait_chat(item.chat_id)
            async with self._semaphore:
                await pacer.wait_channel()
                outcome = await self._attempt(item, pacer)
            settled = await self._record(item.id, outcome)
        finally:
            del self._in_flight[key]
            for finished in self._readers:
                finished.add(key)
        if settled:
            self.wake()  # the chat's next item is eligible now

    def _pacer(self, channel: str) -> ChannelPacer:
        pacer = self._pacers.get(channel)
        if pacer is None:
            pacer = self._pacers[channel] = ChannelPacer.unlimited()
        return pacer

    async def _attempt(self, item: OutboxItem, pacer: ChannelPacer) -> _Outcome:
        where = f"item {item.id} on {item.channel}"
        logger.debug("sending %s to chat %s: %r", where, item.chat_id, item.reply.text)
        try:
            await self._senders[item.channel].send(item.chat_id, item.reply)
        except RetryAfter as exc:
            seconds = max(0.0, exc.seconds)
            pacer.pause_for(seconds)
            logger.warning("%s: platform asked to wait %.1fs; channel paused", where, seconds)
            # The platform chose the delay, so this attempt does not count towards max_attempts.
            return _Retry(item.attempts, seconds, _describe(exc))
        except PermanentFailure as exc:
            logger.warning("%s failed permanently: %s", where, _describe(exc))
            return _Failed(_describe(exc))
        except TemporaryFailure as exc:
            logger.warning("%s failed, will retry: %s", where, _describe(exc))
            return self._after_failure(item, exc)
        except Exception as exc:
            logger.exception("%s: unexpected error from the sender", where)
            return self._after_failure(item, exc)
        return _Sent()

    def _after_failure(self, item: OutboxItem, exc: Exception) -> _Outcome:
        attempts = item.attempts + 1
        if attempts >= self._max_attempts:
            return _Failed(f"{_describe(exc)} (gave up after {attempts} attempts)")
        return _Retry(attempts, self._backoff(attempts), _describe(exc))

    def _backoff(self, attempts: int) -> float:
        ceiling = min(self._backoff_cap, self._backoff_base * 2.0 ** min(attempts - 1, 60))
        # Between half and all of the ceiling: retries of one outage spread out, none come at once.
        return ceiling * (0.5 + 0.5 * self._jitter())

    async def _record(self, item_id: int, outcome: _Outcome) -> bool:
        """Commit the outcome; True when the item left the pending state."""
        try:
            async with self._uow_factory() as uow:
                await _write(uow.outbox, item_id, outcome, self._clock.now())
                await uow.commit()
        except Exception:
            logger.exception("could not record the outcome of outbox item %s; it stays pending",
                             item_id)
            return False
        return not isinstance(outcome, _Retry)


async def _write(outbox: OutboxRepository, item_id: int, outcome: _Outcome, now: datetime) -> None:
    match outcome:
        case _Sent():
            await outbox.mark_sent(item_id, now)
        case _Retry(attempts, delay_seconds, error):
            due = now + timedelta(seconds=delay_seconds)
            await outbox.mark_retry(item_id, attempts, due, error)
        case _Failed(error):
            await outbox.mark_failed(item_id, now, error)


def _describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return text[:_MAX_ERROR_CHARS]
