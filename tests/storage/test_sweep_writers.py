"""A sweep's batches written by two transactions at once (PostgreSQL), and a batch that fails."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any, Self, cast

import pytest

from domain.clock import FixedClock
from domain.people import Role
from domain.ports import UnitOfWork, UnitOfWorkFactory
from domain.reports import ReportStatus
from handlers.sweeps import Sweeper, SweepSettings
from storage.database import Database
from tests.conversation_harness import services
from tests.db_fixtures import truncate_all
from tests.storage.builders import NOW, add_person
from tests.storage.test_escalations import HOUR, add_case

CASES = 12
BATCH = 3  # four transactions


class Watched:
    """A unit-of-work factory that counts how many of its units of work are open at once and
    can make the commit of its n-th one fail."""

    def __init__(self, factory: UnitOfWorkFactory, fail_commit: int | None = None) -> None:
        self._factory = factory
        self._fail_commit = fail_commit
        self.open = self.most_open = self.commits = 0

    def __call__(self) -> _WatchedUnit:
        return _WatchedUnit(self, self._factory())


class _WatchedUnit:
    def __init__(self, watched: Watched, inner: UnitOfWork) -> None:
        self._watched, self._inner = watched, inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def __aenter__(self) -> Self:
        await self._inner.__aenter__()
        self._watched.open += 1
        self._watched.most_open = max(self._watched.most_open, self._watched.open)
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._watched.open -= 1
        await self._inner.__aexit__(kind, error, tb)

    async def commit(self) -> None:
        self._watched.commits += 1
        if self._watched.commits == self._watched._fail_commit:
            raise OSError("disk full")
        await self._inner.commit()


@pytest.fixture
async def database(postgres_database_url: str) -> AsyncIterator[Database]:
    db = Database.connect(postgres_database_url)
    try:
        await truncate_all(db)
        yield db
    finally:
        await db.dispose()


async def overdue_cases(factory: UnitOfWorkFactory) -> None:
    """CASES cases ten days past their deadline; a handler and a board officer to tell."""
    async with factory() as uow:
        lan = await add_person(uow, "lan")
        await add_person(uow, "handler", Role.HANDLER, "bo-de")
        await add_person(uow, "officer", Role.BOARD, None)
        await uow.commit()
    for number in range(1, CASES + 1):
        await add_case(factory, number, ReportStatus.ASSIGNED, -10 * 24 * HOUR, lan.id)


def sweeper(factory: Watched, writers: int) -> Sweeper:
    settings = SweepSettings(batch_size=BATCH, writers=writers)
    return Sweeper(cast(UnitOfWorkFactory, factory), services(FixedClock(NOW)), settings)


async def outbox_per_chat(factory: UnitOfWorkFactory) -> Counter[str]:
    async with factory() as uow:
        return Counter(item.chat_id for item in await uow.outbox.all())


@pytest.mark.postgres
async def test_two_writers_overlap_and_take_each_step_once_in_case_order(
    database: Database,
) -> None:
    await overdue_cases(database.unit_of_work)
    watched = Watched(database.unit_of_work)
    result = await sweeper(watched, writers=2).run_once()
    assert watched.most_open == 2  # one batch written while the next was under way
    codes = [code for code, _ in result.steps]
    # Each case: deadline, board, leader (assigned after its back-dated deadline: no reminder),
    # listed in the order of the cases whichever writer took them.
    assert len(result.steps) == CASES * 3 and len(set(result.steps)) == CASES * 3
    assert codes == sorted(codes)
    # deadline -> the handler; board and leader -> the one officer.
    assert await outbox_per_chat(database.unit_of_work) == {"handler": CASES, "officer": 2 * CASES}
    again = await sweeper(Watched(database.unit_of_work), writers=2).run_once()
    assert again.steps == [] and again.queued == 0


@pytest.mark.postgres
async def test_a_failed_batch_fails_the_sweep_and_the_next_sweep_takes_what_it_left(
    database: Database,
) -> None:
    await overdue_cases(database.unit_of_work)
    failing = Watched(database.unit_of_work, fail_commit=2)
    with pytest.raises(OSError, match="disk full"):  # the error itself, not a group
        await sweeper(failing, writers=2).run_once()
    assert failing.open == 0  # every transaction ended
    committed = await outbox_per_chat(database.unit_of_work)
    assert committed["handler"] < CASES  # the failed batch's messages were not kept
    result = await sweeper(Watched(database.unit_of_work), writers=2).run_once()
    assert result.steps  # the rest, taken now
    # In all, each person was told of each step exactly once.
    assert await outbox_per_chat(database.unit_of_work) == {"handler": CASES, "officer": 2 * CASES}
