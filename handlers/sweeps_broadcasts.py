"""The broadcast part of the sweep: launch the scheduled ones that are due, close finished ones.

Each launch is its own transaction and conditional (scheduled -> sending), so two sweeps, in one
process or two, never launch a broadcast twice; one due while the service was down is simply
due at the next sweep, and launched once. A broadcast is closed (and its author told) only when
none of its copies is pending or being sent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from domain.broadcasts import Broadcast, BroadcastStatus, DeliveryCounts
from domain.messages import OutboxItem
from domain.ports import UnitOfWorkFactory
from handlers.broadcasting import close_finished, launch
from handlers.context import Services

log = logging.getLogger(__name__)


@dataclass
class BroadcastSweep:
    launched: list[tuple[str, int]] = field(default_factory=list)  # (code, copies written)
    finished: list[tuple[str, DeliveryCounts]] = field(default_factory=list)
    queued: list[OutboxItem] = field(default_factory=list)  # the delivery reports


async def sweep_broadcasts(
    uow_factory: UnitOfWorkFactory, services: Services, now: datetime, limit: int,
    watch: int = 200,
) -> BroadcastSweep:
    """Launch up to `limit` due broadcasts, then look at up to `watch` sending ones."""
    result = BroadcastSweep()
    async with uow_factory() as uow:
        due = await uow.broadcasts.due(now, limit)
    for broadcast in due:
        try:
            copies = await _launch_one(uow_factory, services, broadcast, now)
        except Exception:
            # One broadcast that cannot be planned must not hold up the others.
            log.exception("launching broadcast %s failed; retried at the next sweep",
                          broadcast.code)
            continue
        if copies is not None:
            result.launched.append((broadcast.code, copies))
    async with uow_factory() as uow:
        finished = await close_finished(uow, services, now, watch)
        await uow.commit()
    for done in finished:
        result.finished.append((done.broadcast.code, done.counts))
        result.queued.extend(done.queued)
    return result


async def _launch_one(
    uow_factory: UnitOfWorkFactory, services: Services, broadcast: Broadcast, now: datetime
) -> int | None:
    assert broadcast.id is not None
    async with uow_factory() as uow:
        # Read again inside the transaction: cancelled or moved since the list was read.
        current = await uow.broadcasts.get(broadcast.id)
        if current is None or current.status is not BroadcastStatus.SCHEDULED:
            return None
        if current.send_at > now:
            return None
        copies = await launch(uow, services, current, now)
        await uow.commit()
    return copies
