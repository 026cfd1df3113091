"""Alembic migrations: an empty database reaches the models' schema, and stays there."""

from __future__ import annotations

import asyncio
import secrets
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from storage.database import Database
from storage.migrate import upgrade_to_head
from storage.models import metadata
from tests.db_fixtures import (
    BACKENDS,
    create_postgres_database,
    drop_postgres_database,
    postgres_server_url,
    skip_if_postgres_disabled,
    sqlite_url,
)


@pytest.fixture(params=BACKENDS)
async def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database (not migrated): a file that does not exist yet, or a new database."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path / "not-yet" / "dlxh.db")
        return
    skip_if_postgres_disabled()
    server, name = postgres_server_url(), f"dlxh_migrate_{secrets.token_hex(4)}"
    url = await create_postgres_database(server, name)
    try:
        yield url
    finally:
        await drop_postgres_database(server, name)


def _schema(connection: Connection) -> tuple[set[str], list[object]]:
    tables = set(inspect(connection).get_table_names())
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return tables, list(compare_metadata(context, metadata))


async def _read(url: str) -> tuple[set[str], list[object], list[str], list[str]]:
    db = Database.connect(url)
    try:
        async with db.engine.connect() as connection:
            tables, differences = await connection.run_sync(_schema)
            versions = (await connection.execute(
                text("SELECT version_num FROM alembic_version")
            )).scalars().all()
            names = (await connection.execute(text("SELECT name FROM counters"))).scalars().all()
    finally:
        await db.dispose()
    return tables, differences, list(versions), list(names)


async def test_upgrade_creates_every_table_and_matches_models(
    empty_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the migrations are found from any working directory
    await upgrade_to_head(empty_url)
    tables, differences, versions, _ = await _read(empty_url)
    assert tables == set(metadata.tables) | {"alembic_version"}
    assert differences == []
    assert versions == ["0001"]


async def test_second_upgrade_is_a_no_op(empty_url: str) -> None:
    await upgrade_to_head(empty_url)
    db = Database.connect(empty_url)
    try:
        async with db.unit_of_work() as uow:
            await uow.reports.next_number(2026)
            await uow.commit()
    finally:
        await db.dispose()

    await upgrade_to_head(empty_url)
    _, differences, versions, names = await _read(empty_url)
    assert differences == []
    assert versions == ["0001"]
    assert names == ["report:2026"]  # data survived: nothing was recreated


async def test_concurrent_upgrades_in_one_process(empty_url: str) -> None:
    await asyncio.gather(*(upgrade_to_head(empty_url) for _ in range(3)))
    tables, differences, versions, _ = await _read(empty_url)
    assert tables == set(metadata.tables) | {"alembic_version"}
    assert (differences, versions) == ([], ["0001"])


MIGRATE = "import asyncio, sys; from storage.migrate import upgrade_to_head; " \
    "asyncio.run(upgrade_to_head(sys.argv[1]))"


@pytest.mark.parametrize("empty_url", [BACKENDS[1]], indirect=True)
async def test_workers_migrating_at_once_on_postgres(empty_url: str) -> None:
    """Three processes start together on an empty database: all succeed, one migrates."""
    root = Path(__file__).resolve().parents[2]
    workers = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", MIGRATE, empty_url, cwd=root,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(3)
    ]
    outputs = [await worker.communicate() for worker in workers]
    assert [w.returncode for w in workers] == [0, 0, 0], outputs
    tables, differences, versions, _ = await _read(empty_url)
    assert tables == set(metadata.tables) | {"alembic_version"}
    assert (differences, versions) == ([], ["0001"])
