"""The people every orientation test starts with (`world`), in a fresh in-memory store."""

from __future__ import annotations

import pytest

from domain.clock import FixedClock
from tests.conversation_harness import MONDAY_9AM, Person
from tests.fakes.memory_uow import MemoryStore
from tests.unit.orientation.world import world


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(MONDAY_9AM)


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
async def people(store: MemoryStore, clock: FixedClock) -> dict[str, Person]:
    return await world(store, clock)
