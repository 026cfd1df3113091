"""A throw-away database on a local PostgreSQL server, for the benchmarks."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

LOCAL_HOSTS = (None, "127.0.0.1", "localhost")


@contextlib.asynccontextmanager
async def database(kind: str, workdir: Path, server_url: str) -> AsyncIterator[str]:
    """`--db sqlite`: a file under `workdir`; `--db postgres`: a throw-away database."""
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
        return
    async with temporary_database(server_url) as url:
        yield url


@contextlib.asynccontextmanager
async def temporary_database(server_url: str) -> AsyncIterator[str]:
    """The URL of a new empty database `dlxh_bench_<random>`, dropped afterwards."""
    server = make_url(server_url)
    if server.host not in LOCAL_HOSTS:
        raise SystemExit(f"refusing to use a PostgreSQL server that is not local: {server.host}")
    name = f"dlxh_bench_{secrets.token_hex(4)}"
    await _on_server(server_url, f'CREATE DATABASE "{name}"')
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        await _on_server(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _on_server(server_url: str, statement: str) -> None:
    engine = create_async_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()
