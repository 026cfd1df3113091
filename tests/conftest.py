"""Fixtures every kind of test may use; a module needing another moment overrides `clock`."""

from __future__ import annotations

import pytest

from domain.clock import FixedClock
from tests.conversation_harness import MONDAY_9AM
from tests.fakes.memory_uow import MemoryStore

pytest_plugins = ["tests.db_fixtures"]


@pytest.fixture
def clock() -> FixedClock:
    """Monday 09:00 in Hà Nội: inside working hours."""
    return FixedClock(MONDAY_9AM)


@pytest.fixture
def store() -> MemoryStore:
    """An empty in-memory database (a `UnitOfWorkFactory`)."""
    return MemoryStore()
