"""Database fixtures: a migrated `storage.database.Database` on SQLite and on PostgreSQL.

Load with `pytest_plugins = ["tests.db_fixtures"]`. Tests that take `database` (or `uow_factory`)
run twice, with ids `sqlite` and `postgres`; the PostgreSQL run is marked `postgres`.

- SQLite: one migrated template file per session, copied to a fresh file in `tmp_path` per test.
- PostgreSQL: `TEST_POSTGRES_URL` (default `postgresql+asyncpg://postgres@127.0.0.1:5432/test`)
  names a server and a maintenance database; a database `dlxh_test_<random>` is created and
  migrated once per session, every table is truncated before each test, and it is dropped at the
  end. An unreachable server fails the PostgreSQL tests, unless `DLXH_SKIP_POSTGRES=1`.

Engines never cross event loops: session-scoped fixtures are synchronous and use their own
short-lived loop (`asyncio.run`); each test gets its own engine, disposed after it.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from storage.database import Database
from storage.migrate import upgrade_to_head
from storage.models import metadata
from storage.uow import SqlUnitOfWork

DEFAULT_POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]

__all__ = [
    "BACKENDS",
    "create_postgres_database",
    "database",
    "database_url",
    "drop_postgres_database",
    "postgres_database_url",
    "postgres_server_url",
    "rows_in_the_file_alone",
    "skip_if_postgres_disabled",
    "sqlite_template",
    "sqlite_url",
    "truncate_all",
    "uow_factory",
    "url_for_backend",
]


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


async def rows_in_the_file_alone(path: Path, table: str) -> int:
    """The rows of `table` as the SQLite file holds them without its write-ahead log (what a
    checkpoint copied). The read takes no lock (immutable): one that meets a checkpoint
    copying pages is read again."""
    for _ in range(100):
        try:
            with closing(sqlite3.connect(f"file:{path}?immutable=1", uri=True)) as connection:
                count: int = connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                return count
        except sqlite3.DatabaseError:
            await asyncio.sleep(0.02)
    raise AssertionError(f"{path} could not be read")


def skip_if_postgres_disabled() -> None:
    """Skip (rather than fail) PostgreSQL tests only when DLXH_SKIP_POSTGRES=1 says so."""
    if os.environ.get("DLXH_SKIP_POSTGRES", "") not in ("", "0"):
        pytest.skip("DLXH_SKIP_POSTGRES is set")


def postgres_server_url() -> str:
    """The server (and maintenance database) the PostgreSQL tests use."""
    return os.environ.get("TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)


async def _on_server(server_url: str, statement: str) -> None:
    engine = create_async_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


async def create_postgres_database(server_url: str, name: str) -> str:
    """Create an empty database next to the maintenance one; returns its URL."""
    await _on_server(server_url, f'CREATE DATABASE "{name}"')
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


async def drop_postgres_database(server_url: str, name: str) -> None:
    await _on_server(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _create_postgres_database(server_url: str, name: str) -> str:
    url = await create_postgres_database(server_url, name)
    await upgrade_to_head(url)
    return url


def _drop_quietly(server_url: str, name: str) -> None:
    try:
        asyncio.run(asyncio.wait_for(drop_postgres_database(server_url, name), 30))
    except Exception:  # the server may be unreachable: nothing to clean then
        return


@pytest.fixture(scope="session")
def postgres_database_url() -> Iterator[str]:
    """A migrated, session-wide PostgreSQL database (created here, dropped at the end)."""
    skip_if_postgres_disabled()
    server_url = postgres_server_url()
    name = f"dlxh_test_{secrets.token_hex(4)}"
    try:
        url = asyncio.run(asyncio.wait_for(_create_postgres_database(server_url, name), 60))
    except Exception as error:
        _drop_quietly(server_url, name)
        pytest.fail(
            f"PostgreSQL at {make_url(server_url)!r} is not usable ({error!r}); "
            "start it, point TEST_POSTGRES_URL at one, or set DLXH_SKIP_POSTGRES=1",
            pytrace=False,
        )
    yield url
    asyncio.run(drop_postgres_database(server_url, name))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once per session; tests copy it."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    asyncio.run(upgrade_to_head(sqlite_url(path)))
    return path


def url_for_backend(request: pytest.FixtureRequest, backend: str, tmp_path: Path) -> str:
    """A URL of an empty, migrated database of `backend` ("sqlite" or "postgres")."""
    if backend == "postgres":
        url: str = request.getfixturevalue("postgres_database_url")
        return url
    template: Path = request.getfixturevalue("sqlite_template")
    path = tmp_path / "dlxh.db"
    shutil.copyfile(template, path)
    return sqlite_url(path)


async def truncate_all(db: Database) -> None:
    """Empty every table and restart identities (PostgreSQL)."""
    tables = ", ".join(f'"{table.name}"' for table in metadata.sorted_tables)
    async with db.engine.begin() as connection:
        await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return url_for_backend(request, request.param, tmp_path)


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    """A migrated, empty database, with an engine bound to this test's event loop."""
    db = Database.connect(database_url)
    try:
        if db.is_postgres:
            await truncate_all(db)
        yield db
    finally:
        await db.dispose()


@pytest.fixture
def uow_factory(database: Database) -> Callable[[], SqlUnitOfWork]:
    """`database.unit_of_work`, a `domain.ports.UnitOfWorkFactory`."""
    return database.unit_of_work
