"""SQLite on the event loop's own thread: each statement a direct call, no thread hop.

aiosqlite runs every statement on a worker thread and wakes the event loop with the result; for
SQLite's statements of a few microseconds those two thread switches cost more than the statement
(`bench.ingest`: 5.1 → 2.0 ms of CPU per intake step; decision 0007). Units of work of one process
already run one at a time (`Database`'s write lock), so the loop loses nothing it could have run.

What must never happen on the loop's thread is waiting: for another process's write lock, SQLite
would sleep in its busy handler and freeze every chat of this process. So these connections do not
wait (busy timeout 0); a write that finds the lock taken is retried after an asyncio sleep.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, Executable, Table, create_engine, event
from sqlalchemy.engine import URL, CursorResult, Dialect, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import FromClause

FIRST_PAUSE_S = 0.002
LONGEST_PAUSE_S = 0.05


def _is_busy(error: OperationalError) -> bool:
    orig = error.orig
    code = getattr(orig, "sqlite_errorcode", None)
    return isinstance(orig, sqlite3.OperationalError) and code is not None and code & 0xFF in (
        sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED
    )


class InlineConnection:
    """The part of `AsyncConnection` the repositories use, over a synchronous connection."""

    def __init__(self, connection: Connection, patience_s: float) -> None:
        self._connection = connection
        driver = connection.connection.driver_connection
        assert isinstance(driver, sqlite3.Connection)
        self._driver = driver
        self._patience_s = patience_s

    @property
    def dialect(self) -> Dialect:
        return self._connection.dialect

    @property
    def variable_limit(self) -> int:
        """How many parameters one statement may have (SQLite's build decides)."""
        return self._driver.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)

    async def execute(
        self, statement: Executable, parameters: dict[str, Any] | list[dict[str, Any]] | None = None
    ) -> CursorResult[Any]:
        return await self._patiently(lambda: self._connection.execute(statement, parameters))

    async def insert_rows(self, sql: str, rows: Sequence[tuple[Any, ...]]) -> range:
        """`rows` (already in their stored form) inserted by the driver's `executemany`, without
        SQLAlchemy's per-row parameter handling (~5 µs a row); returns their rowids in order.
        From the first row on this connection holds the write lock, so each new rowid is the
        largest plus one: the rows' ids are consecutive and end with `last_insert_rowid()`."""
        await self._patiently(lambda: self._connection.exec_driver_sql(sql, list(rows)))
        last = self._driver.execute("SELECT last_insert_rowid()").fetchone()[0]
        return range(last - len(rows) + 1, last + 1)

    async def returning(self, sql: str, parameters: Sequence[Any]) -> list[tuple[Any, ...]]:
        """The rows a driver-level statement returns (`parameters` already in stored form)."""
        result = await self._patiently(
            lambda: self._connection.exec_driver_sql(sql, tuple(parameters))
        )
        return [tuple(row) for row in result.all()]

    async def _patiently(self, run: Callable[[], CursorResult[Any]]) -> CursorResult[Any]:
        give_up_at: float | None = None
        pause = FIRST_PAUSE_S
        while True:
            # The driver opens the transaction with the first write; before it nothing is held.
            held_nothing = not self._driver.in_transaction
            try:
                return run()
            except OperationalError as error:
                if not (held_nothing and _is_busy(error)):
                    raise
                now = time.monotonic()
                give_up_at = give_up_at or now + self._patience_s
                if now > give_up_at:
                    raise
            # Let go of the read snapshot the refused write began: after the other writer's
            # commit it would be stale, and the write would be refused for good.
            self._connection.rollback()
            await asyncio.sleep(pause)
            pause = min(pause * 2, LONGEST_PAUSE_S)

    async def commit(self) -> None:
        self._connection.commit()

    async def rollback(self) -> None:
        self._connection.rollback()

    async def close(self) -> None:
        self._connection.close()


def insert_statement(table: FromClause, names: Sequence[str]) -> str:
    """The driver's INSERT of `names` into `table`, for `InlineConnection.insert_rows`."""
    assert isinstance(table, Table) and all(name in table.c for name in names)
    return f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"


OpenConnection = AsyncConnection | InlineConnection
"""What a unit of work runs its statements on: PostgreSQL's async connection, or SQLite's."""


def _never_wait(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute("PRAGMA busy_timeout=0")


def inline_engine(
    url: str | URL, set_up: Callable[[Any, Any], None], **engine_options: Any
) -> Engine:
    """The synchronous (pysqlite) engine for the same database as an aiosqlite URL.

    `set_up` prepares each new connection (it may wait for locks: it runs once per connection);
    after it, the connection never waits again.
    """
    engine = create_engine(make_url(url).set(drivername="sqlite+pysqlite"), **engine_options)
    event.listen(engine, "connect", set_up)
    event.listen(engine, "connect", _never_wait)
    return engine
