"""Bring a database to the newest schema, programmatically (`alembic upgrade head`)."""

from __future__ import annotations

import asyncio
import fcntl
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import make_url

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# Alembic keeps its migration context in module globals: one migration at a time per process.
# (Processes migrating the same PostgreSQL database at once wait on an advisory lock, env.py.)
_ONE_AT_A_TIME = threading.Lock()
SQLITE_WAL_TIMEOUT_S = 30.0


def alembic_config(url: str) -> Config:
    """An Alembic config pointing at this package's migrations, from any working directory."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    # Passed as an attribute, not as `sqlalchemy.url`: ConfigParser would interpolate "%".
    config.attributes["url"] = url
    return config


async def upgrade_to_head(url: str) -> None:
    """Apply every migration not yet applied; a no-op on an up-to-date database."""
    path = sqlite_file(url)
    await asyncio.to_thread(_upgrade, alembic_config(url), path)
    if path is not None:
        await asyncio.to_thread(_use_wal, path)


def sqlite_file(url: str) -> Path | None:
    parsed = make_url(url)
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    return None if database.startswith("file:") else Path(database).expanduser()


def _use_wal(path: Path) -> None:
    """WAL is a property of the file: set here, before the service opens its connections,
    because switching needs the file to itself (SQLite answers "locked" without waiting)."""
    with closing(sqlite3.connect(path, timeout=SQLITE_WAL_TIMEOUT_S)) as connection:
        connection.execute("PRAGMA journal_mode=WAL")


def _upgrade(config: Config, sqlite_path: Path | None) -> None:
    with _ONE_AT_A_TIME, _other_processes_wait(sqlite_path):
        command.upgrade(config, "head")


@contextmanager
def _other_processes_wait(sqlite_path: Path | None) -> Iterator[None]:
    """Two commands started at once on a new SQLite file (`scripts/run` and a `dlxh invite`)
    would both create the tables, and one fail ("table people already exists"): SQLite's DDL
    here is not one transaction. A lock file beside the database makes the second wait, then
    find the schema done. (PostgreSQL: an advisory lock in env.py does the same.)"""
    if sqlite_path is None:
        yield
        return
    sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{sqlite_path}.migrate-lock", "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
