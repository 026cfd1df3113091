"""The people every orientation test starts with (`world`), in a fresh in-memory store."""

from __future__ import annotations

import pytest

from domain.clock import FixedClock
from tests.conversation_harness import Person
from tests.fakes.memory_uow import MemoryStore
from tests.unit.orientation.world import world


@pytest.fixture
async def people(store: MemoryStore, clock: FixedClock) -> dict[str, Person]:
    return await world(store, clock)
