"""Fixtures of the end-to-end tests: the fake platforms, each on its own 127.0.0.1 port."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from storage.database import Database
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.zalo_api import FakeZalo


@pytest.fixture
def clean_database_url(database: Database, database_url: str) -> str:
    """`database_url`, emptied first (the `database` fixture truncates PostgreSQL's tables)."""
    return database_url


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    """The fake Bot API server."""
    async with FakeTelegram() as server:
        yield server


@pytest.fixture
async def zalo() -> AsyncIterator[FakeZalo]:
    """The fake Zalo Bot API server."""
    async with FakeZalo() as server:
        yield server
