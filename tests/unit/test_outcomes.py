from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import cast

from bot.outcomes import Failed, OutcomeRecorder, Retry, Sent
from domain.clock import FixedClock
from domain.messages import OutboxStatus, Reply
from domain.ports import UnitOfWorkFactory
from tests.fakes.memory_uow import MemoryStore
from tests.unit.test_dispatcher import FlakyStore

START = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


async def stored(store: MemoryStore, count: int) -> list[int]:
    async with store() as uow:
        ids = [
            (await uow.outbox.add("telegram", str(n), Reply(f"m{n}"), START)).id
            for n in range(count)
        ]
        await uow.commit()
    return ids


def recorder(store: MemoryStore, linger: float = 0.0) -> OutcomeRecorder:
    return OutcomeRecorder(cast(UnitOfWorkFactory, store), FixedClock(START), linger)


async def test_outcomes_arriving_together_are_committed_in_one_unit_of_work() -> None:
    store = MemoryStore()
    first, second, third = await stored(store, 3)
    commits = store.commits
    outcomes = recorder(store)

    results = await asyncio.gather(
        outcomes.record(first, Sent()),
        outcomes.record(second, Retry(1, 30, "timeout")),
        outcomes.record(third, Failed("blocked")),
    )

    assert list(results) == [True, True, True]
    assert store.commits - commits == 1
    outbox = store.state.outbox
    assert (outbox[first].status, outbox[first].sent_at) == (OutboxStatus.SENT, START)
    assert (outbox[second].status, outbox[second].attempts) == (OutboxStatus.PENDING, 1)
    assert outbox[second].next_attempt_at == START + timedelta(seconds=30)
    assert (outbox[third].status, outbox[third].last_error) == (OutboxStatus.FAILED, "blocked")


async def test_outcomes_arriving_during_a_commit_go_into_the_next() -> None:
    store = MemoryStore()
    ids = await stored(store, 4)
    commits = store.commits
    outcomes = recorder(store)

    first = asyncio.create_task(outcomes.record(ids[0], Sent()))
    await asyncio.sleep(0)  # the first flush is under way with one outcome
    results = await asyncio.gather(first, *(outcomes.record(i, Sent()) for i in ids[1:]))

    assert results == [True] * 4
    assert store.commits - commits == 2
    assert all(item.status is OutboxStatus.SENT for item in store.state.outbox.values())


async def test_outcomes_finishing_within_the_linger_share_one_commit() -> None:
    store = MemoryStore()
    ids = await stored(store, 4)
    commits = store.commits
    outcomes = recorder(store, linger=0.05)

    async def later(item_id: int, delay: float) -> bool:
        await asyncio.sleep(delay)
        return await outcomes.record(item_id, Sent())

    results = await asyncio.gather(*(later(i, n * 0.005) for n, i in enumerate(ids)))
    assert results == [True] * 4
    assert store.commits - commits == 1


async def test_a_failed_commit_reports_every_outcome_unrecorded() -> None:
    store = FlakyStore()
    ids = await stored(store, 3)
    store.broken = True
    outcomes = recorder(store)

    results = await asyncio.gather(*(outcomes.record(i, Sent()) for i in ids))

    assert list(results) == [False, False, False]
    assert all(item.status is OutboxStatus.PENDING for item in store.state.outbox.values())
    store.broken = False
    assert await outcomes.record(ids[0], Sent())  # the recorder carries on afterwards


async def test_one_bad_outcome_does_not_keep_the_others_pending() -> None:
    store = MemoryStore()
    good, other = await stored(store, 2)
    outcomes = recorder(store)

    results = await asyncio.gather(
        outcomes.record(good, Sent()),
        outcomes.record(999, Sent()),  # no such row: the fake raises, as a broken row would
        outcomes.record(other, Failed("blocked")),
    )

    assert list(results) == [True, False, True]
    assert store.state.outbox[good].status is OutboxStatus.SENT
    assert store.state.outbox[other].status is OutboxStatus.FAILED
