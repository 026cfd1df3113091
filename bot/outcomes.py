"""What became of one attempt to send an outbox item, and committing that, several at a time."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.pacing import ChannelPacer
from domain.clock import Clock
from domain.delivery import Blocked, PermanentFailure, RetryAfter, Sender, TemporaryFailure
from domain.messages import OutboxItem
from domain.ports import OutboxRepository, UnitOfWorkFactory

logger = logging.getLogger(__name__)
_MAX_ERROR_CHARS = 500
KEEP_TRYING_FOR = timedelta(hours=24)


@dataclass(frozen=True)
class Sent:
    pass


@dataclass(frozen=True)
class Retry:
    attempts: int
    delay_seconds: float
    error: str


@dataclass(frozen=True)
class Failed:
    error: str
    blocked: bool = False  # the person blocked the bot: their identity becomes unreachable


@dataclass(frozen=True)
class Skipped:
    """A broadcast copy that was no longer pending when claimed (an opt-out cancelled it):
    nothing was sent and there is nothing to write."""


@dataclass(frozen=True)
class Deferred:
    """Not attempted (the dispatcher is stopping, or the claim could not be asked): the item is
    still pending and nothing is written; a later pass takes it."""


Outcome = Sent | Retry | Failed
# What one delivery of an item can come to; only an `Outcome` is written.
Result = Outcome | Skipped | Deferred
_Waiting = tuple[int, Outcome, "asyncio.Future[bool]"]


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class RetryPolicy:
    """A temporary failure is retried until the message has had `max_attempts` AND has waited
    `keep_trying_for` since it was written: eight attempts alone are over in about two minutes,
    less than an ordinary outage of the platform (or the time to replace a revoked token)."""

    max_attempts: int = 8
    backoff_base: float = 1.0
    backoff_cap: float = 300.0
    jitter: Callable[[], float] = random.random
    keep_trying_for: timedelta = KEEP_TRYING_FOR
    now: Callable[[], datetime] = _utc_now

    def after_failure(self, item: OutboxItem, exc: Exception) -> Outcome:
        attempts = item.attempts + 1
        waited = self.now() - item.created_at
        if attempts >= self.max_attempts and waited >= self.keep_trying_for:
            return Failed(f"{_describe(exc)} (gave up after {attempts} attempts)")
        return Retry(attempts, self.backoff(attempts), _describe(exc))

    def backoff(self, attempts: int) -> float:
        ceiling = min(self.backoff_cap, self.backoff_base * 2.0 ** min(attempts - 1, 60))
        # Between half and all of the ceiling: retries of one outage spread out, none come at once.
        return ceiling * (0.5 + 0.5 * self.jitter())


async def attempt(
    sender: Sender, item: OutboxItem, pacer: ChannelPacer, policy: RetryPolicy
) -> Outcome:
    """Send once and say what that means for the item; a 429 also pauses the channel's pacer."""
    where = f"item {item.id} on {item.channel}"
    logger.debug("sending %s to chat %s: %r", where, item.chat_id, item.reply.text)
    try:
        await sender.send(item.chat_id, item.reply)
    except RetryAfter as exc:
        seconds = max(0.0, exc.seconds)
        pacer.pause_for(seconds)
        logger.warning("%s: platform asked to wait %.1fs; channel paused", where, seconds)
        # The platform chose the delay, so this attempt does not count towards max_attempts.
        return Retry(item.attempts, seconds, _describe(exc))
    except Blocked as exc:
        logger.info("%s: the chat is unreachable (%s)", where, _describe(exc))
        return Failed(_describe(exc), blocked=True)
    except PermanentFailure as exc:
        logger.warning("%s failed permanently: %s", where, _describe(exc))
        return Failed(_describe(exc))
    except TemporaryFailure as exc:
        logger.warning("%s failed, will retry: %s", where, _describe(exc))
        return policy.after_failure(item, exc)
    except Exception as exc:
        logger.exception("%s: unexpected error from the sender", where)
        return policy.after_failure(item, exc)
    return Sent()


class OutcomeRecorder:
    """Commits outcomes in batches: one unit of work for all that arrived since the last one.

    The first outcome is written at once; outcomes that arrive while that commit is running are
    written together by the next one. `record` answers only once the outcome is committed (True)
    or could not be (False: the item stays pending and will be sent again, at least once). When a
    batch fails, its outcomes are retried one per unit of work, so one bad row cannot keep the
    others pending.
    """

    def __init__(
        self, uow_factory: UnitOfWorkFactory, clock: Clock, linger_seconds: float = 0.005
    ) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        # Waiting a few milliseconds lets the outcomes of sends finishing together share one
        # commit; the cost is that a chat's next message waits that long behind its previous.
        self._linger = linger_seconds
        self._waiting: list[_Waiting] = []
        self._flusher: asyncio.Task[None] | None = None

    async def record(self, item_id: int, outcome: Outcome) -> bool:
        """Have the outcome committed; True once it is, False if that failed."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting.append((item_id, outcome, future))
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush_all(), name="outbox-outcomes")
        return await future

    async def close(self, timeout: float) -> None:
        """Let the running flush finish, for at most `timeout` seconds."""
        flusher = self._flusher
        if flusher is None:
            return
        _, unfinished = await asyncio.wait({flusher}, timeout=timeout)
        for task in unfinished:
            task.cancel()  # its items stay pending and are sent again after a restart
        with contextlib.suppress(asyncio.CancelledError):
            await flusher

    async def _flush_all(self) -> None:
        batch: list[_Waiting] = []
        try:
            while self._waiting:
                if self._linger > 0:
                    await asyncio.sleep(self._linger)
                batch, self._waiting = self._waiting, []
                results = await self._flush(batch)
                for (_, _, future), recorded in zip(batch, results, strict=True):
                    if not future.done():  # its waiter may have been cancelled
                        future.set_result(recorded)
                batch = []
        finally:
            for _, _, future in batch + self._waiting:
                if not future.done():
                    future.set_result(False)
            self._waiting = []
            self._flusher = None

    async def _flush(self, batch: list[_Waiting]) -> list[bool]:
        try:
            await self._commit(batch)
        except Exception:
            if len(batch) == 1:
                logger.exception("could not record the outcome of outbox item %s; it stays "
                                 "pending", batch[0][0])
                return [False]
            logger.warning("could not record %d outbox outcomes together; trying one by one",
                           len(batch), exc_info=True)
            return [await self._flush_one(entry) for entry in batch]
        return [True] * len(batch)

    async def _flush_one(self, entry: _Waiting) -> bool:
        try:
            await self._commit([entry])
        except Exception:
            logger.exception("could not record the outcome of outbox item %s; it stays pending",
                             entry[0])
            return False
        return True

    async def _commit(self, batch: list[_Waiting]) -> None:
        async with self._uow_factory() as uow:
            now = self._clock.now()
            sent = [item_id for item_id, outcome, _ in batch if isinstance(outcome, Sent)]
            if sent:
                await uow.outbox.mark_sent_many(sent, now)  # the common case: one statement
            for item_id, outcome, _ in batch:
                if not isinstance(outcome, Sent):
                    await _write(uow.outbox, item_id, outcome, now)
            await uow.commit()


async def _write(outbox: OutboxRepository, item_id: int, outcome: Outcome, now: datetime) -> None:
    match outcome:
        case Sent():
            await outbox.mark_sent(item_id, now)
        case Retry(attempts, delay_seconds, error):
            due = now + timedelta(seconds=delay_seconds)
            await outbox.mark_retry(item_id, attempts, due, error)
        case Failed(error, blocked=True):
            await outbox.mark_blocked(item_id, now, error)
        case Failed(error):
            await outbox.mark_failed(item_id, now, error)


def _describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return text[:_MAX_ERROR_CHARS]
