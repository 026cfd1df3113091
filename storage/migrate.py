"""Bring a database to the newest schema, programmatically (`alembic upgrade head`)."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from contextlib import closing
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
    await asyncio.to_thread(_upgrade, alembic_config(url))
    path = sqlite_file(url)
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


def _upgrade(config: Config) -> None:
    with _ONE_AT_A_TIME:
        command.upgrade(config, "head")
