"""Claiming broadcast copies right before their send, several per unit of work.

A broadcast copy moves from `pending` to `sending` in its own committed claim just before the
platform is called. That is what honours an opt-out at send time (a cancelled copy is no longer
pending, so the claim does not return it) and what lets a restart continue a broadcast without
sending anything twice: a row left `sending` by a killed process is settled as sent at the next
start (`OutboxRepository.settle_interrupted`), the only ambiguity being the HTTP calls in flight
at the kill.

Claims asked while one unit of work runs share the next one; unlike the outcome recorder there
is no linger, since a claim stands between a paced token and its send.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any

from domain.messages import OutboxItem
from domain.ports import UnitOfWorkFactory

logger = logging.getLogger(__name__)
Release = Callable[[OutboxItem], Coroutine[Any, Any, object]]
_Waiting = tuple[OutboxItem, "asyncio.Future[bool | None]"]


class ClaimBatcher:
    """`claim(item)` answers True (claimed: send it now), False (no longer pending: cancelled by
    an opt-out or claimed elsewhere; do not send) or None (the claim could not be committed;
    the item is still pending, a later pass tries again).

    A caller cancelled while its claim is being committed (the dispatcher stopping) would leave
    a row `sending` that nobody sends, and that the next start would count as sent: such a copy
    is handed to `release`, which puts it back to pending.
    """

    def __init__(self, uow_factory: UnitOfWorkFactory, release: Release) -> None:
        self._uow_factory = uow_factory
        self._release = release
        self._waiting: list[_Waiting] = []
        self._flusher: asyncio.Task[None] | None = None
        self._releases: set[asyncio.Task[object]] = set()

    async def claim(self, item: OutboxItem) -> bool | None:
        future: asyncio.Future[bool | None] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush_all(), name="outbox-claims")
        try:
            return await future
        except asyncio.CancelledError:
            # Cancelled after the claim was committed but before this task resumed.
            if future.done() and not future.cancelled() and future.result():
                self._orphan(item)
            raise

    async def close(self, timeout: float) -> None:
        """Let the running claim (and the release of its orphans) finish, for at most `timeout`."""
        deadline = asyncio.get_running_loop().time() + timeout
        if (flusher := self._flusher) is not None:
            _, unfinished = await asyncio.wait({flusher}, timeout=timeout)
            for task in unfinished:
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await flusher
        if self._releases:
            left = max(0.0, deadline - asyncio.get_running_loop().time())
            await asyncio.wait(set(self._releases), timeout=left)

    async def settle_interrupted(self, now: datetime) -> int:
        """Copies a killed process left `sending` count as sent; call once, at start."""
        async with self._uow_factory() as uow:
            count = await uow.outbox.settle_interrupted(now)
            await uow.commit()
        if count:
            logger.warning(
                "%d broadcast copies were being sent when the service last stopped; counted as "
                "sent (the platform most likely has them), not sent again", count,
            )
        return count

    def _orphan(self, item: OutboxItem) -> None:
        logger.info("broadcast copy %s was claimed but not sent; putting it back", item.id)
        task = asyncio.create_task(self._release(item), name=f"outbox-release-{item.id}")
        self._releases.add(task)
        task.add_done_callback(self._releases.discard)

    async def _flush_all(self) -> None:
        batch: list[_Waiting] = []
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                claimed = await self._commit(batch)
                for item, future in batch:
                    result = None if claimed is None else item.id in claimed
                    if not future.done():
                        future.set_result(result)
                    elif result:  # its waiter was cancelled while the claim was committed
                        self._orphan(item)
                batch = []
        finally:
            for _, future in batch + self._waiting:
                if not future.done():
                    future.set_result(None)
            self._waiting = []
            self._flusher = None

    async def _commit(self, batch: list[_Waiting]) -> set[int] | None:
        try:
            async with self._uow_factory() as uow:
                claimed = await uow.outbox.claim([item.id for item, _ in batch])
                await uow.commit()
        except Exception:
            logger.exception("could not claim %d broadcast copies; they stay pending", len(batch))
            return None
        return claimed
