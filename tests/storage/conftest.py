"""Fixtures of the storage tests: the shared database fixtures, plus the in-memory fake.

`any_uow_factory` runs a contract test against the in-memory `MemoryStore` as well as SQLite
and PostgreSQL, so that the fake the conversation tests rely on stays faithful.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import cast

import pytest

pytest.register_assert_rewrite("tests.db_fixtures")

from domain.ports import UnitOfWorkFactory  # noqa: E402
from storage.database import Database  # noqa: E402
from tests.db_fixtures import BACKENDS, truncate_all, url_for_backend  # noqa: E402
from tests.fakes.memory_uow import MemoryStore  # noqa: E402

PLUGIN = "tests.db_fixtures"


def pytest_configure(config: pytest.Config) -> None:
    """Load the shared database fixtures unless tests/conftest.py already did."""
    if not config.pluginmanager.has_plugin(PLUGIN):
        config.pluginmanager.import_plugin(PLUGIN)


@pytest.fixture(params=[pytest.param("memory", id="memory"), *BACKENDS])
def any_backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> str | None:
    """None for the in-memory fake, else the URL of a migrated database."""
    if request.param == "memory":
        return None
    return url_for_backend(request, request.param, tmp_path)


@pytest.fixture
async def any_uow_factory(any_backend_url: str | None) -> AsyncIterator[UnitOfWorkFactory]:
    if any_backend_url is None:
        # cast: MemoryUnitOfWork declares concrete repository types, which mypy does not
        # accept for the port's plain (invariant) attributes.
        yield cast(UnitOfWorkFactory, MemoryStore())
        return
    db = Database.connect(any_backend_url)
    try:
        if db.is_postgres:
            await truncate_all(db)
        yield db.unit_of_work
    finally:
        await db.dispose()
