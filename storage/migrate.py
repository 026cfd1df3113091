"""Bring a database to the newest schema, programmatically (`alembic upgrade head`)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# Alembic keeps its migration context in module globals: one migration at a time per process.
# (Processes migrating the same PostgreSQL database at once wait on an advisory lock, env.py.)
_ONE_AT_A_TIME = threading.Lock()


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


def _upgrade(config: Config) -> None:
    with _ONE_AT_A_TIME:
        command.upgrade(config, "head")
