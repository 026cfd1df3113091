"""Alembic environment: async engine, models metadata, batch mode on SQLite.

The URL comes from `config.attributes["url"]` (storage.migrate), else `-x url=...`, else
`sqlalchemy.url` of alembic.ini.
"""

from __future__ import annotations

import asyncio
from logging.config import fileConfig

from alembic import context
from sqlalchemy import pool, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from storage.database import ensure_sqlite_directory
from storage.models import metadata

MIGRATION_LOCK = 0x444C58485F6D6967  # "DLXH_mig": the advisory lock taken while migrating

config = context.config
if config.config_file_name is not None and not config.attributes.get("url"):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def database_url() -> str:
    url = config.attributes.get("url") or context.get_x_argument(as_dictionary=True).get("url")
    url = url or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database URL for migrations")
    return str(url)


def configure(connection: Connection | None, url: str | None = None) -> None:
    dialect = connection.dialect.name if connection is not None else url
    context.configure(
        connection=connection,
        url=url,
        target_metadata=metadata,
        render_as_batch=str(dialect).startswith("sqlite"),
        compare_type=True,
        literal_binds=connection is None,
    )


def run_offline() -> None:
    configure(None, database_url())
    with context.begin_transaction():
        context.run_migrations()


def _run_sync(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        # Workers starting together migrate one after another; the later ones find nothing to do.
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
    configure(connection)
    with context.begin_transaction():
        context.run_migrations()


async def run_online() -> None:
    url = database_url()
    ensure_sqlite_directory(url)
    engine = create_async_engine(url, poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run_sync)
            await connection.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    asyncio.run(run_online())
