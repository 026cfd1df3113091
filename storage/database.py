"""The database handle the composition root creates once: an engine and a unit-of-work factory."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from storage.checkpoints import COMMIT_CHECKPOINT_PAGES, WalCheckpointer
from storage.inline_sqlite import inline_engine
from storage.migrate import sqlite_file
from storage.uow import SqlUnitOfWork

DEFAULT_URL = "sqlite+aiosqlite:///./data/dlxh.db"
SQLITE_BUSY_TIMEOUT_MS = 30_000


def json_text(document: Any) -> str:
    """JSON columns hold Vietnamese as UTF-8, not as `\\uXXXX` escapes: a case card is ~30 %
    shorter (984 → 705 bytes), and a sweep writes thousands of them (bench.sweep)."""
    return json.dumps(document, ensure_ascii=False)


def is_sqlite_url(url: str | URL) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def ensure_sqlite_directory(url: str | URL) -> None:
    """Create the directory of a SQLite database file, so that the first connect succeeds."""
    file = sqlite_file(str(url))
    if file is not None:
        file.parent.mkdir(parents=True, exist_ok=True)


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # The busy timeout first: a new connection opened while another process writes must wait
    # for its lock, not fail with "database is locked" on the pragmas below.
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    # WAL is set on the file by the migrations (storage/migrate.py), before any of these
    # connections exists: switching beside other connections fails at once ("locked", no
    # waiting). Here only a database nobody migrated is switched, if it can be.
    cursor.execute("PRAGMA journal_mode")
    if str(cursor.fetchone()[0]).lower() != "wal":
        with contextlib.suppress(Exception):
            cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _leave_checkpoints_to_the_checkpointer(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute(f"PRAGMA wal_autocheckpoint={COMMIT_CHECKPOINT_PAGES}")


def _install_sqlite_events(engine: AsyncEngine) -> None:
    # The driver's own transaction handling is kept on purpose: it issues BEGIN together with
    # the first write of a unit of work, which saves a round trip to the SQLite thread per
    # update. Units of work of one process never interleave (the write lock of `Database`), and
    # a writer of another process is waited for (busy_timeout), because a transaction begins
    # with its first write and so never holds a stale read snapshot.
    event.listen(engine.sync_engine, "connect", _on_sqlite_connect)


class Database:
    """An async engine, and `unit_of_work` (a `domain.ports.UnitOfWorkFactory`).

    On SQLite the units of work use a second, synchronous engine on the same file (`inline`,
    decision 0007); `engine` stays async for what does not go through a unit of work (the CLI's
    monthly report, `ping`, tests that seed data).
    """

    def __init__(
        self, engine: AsyncEngine, inline: Engine | None = None,
        checkpointer: WalCheckpointer | None = None,
    ) -> None:
        self.engine = engine
        self._inline = inline
        # SQLite file with background checkpoints: whoever runs the service runs it.
        self.checkpointer = checkpointer
        self.is_postgres = engine.dialect.name == "postgresql"
        self.is_sqlite = engine.dialect.name == "sqlite"
        # SQLite has one writer: units of work of this process take turns instead of hitting
        # "database is locked". Created here, never at import time.
        self._write_lock = asyncio.Lock() if self.is_sqlite else None

    @classmethod
    def connect(
        cls, url: str = DEFAULT_URL, *, background_checkpoints: bool = False,
        **engine_options: Any,
    ) -> Database:
        """Create the engine (no connection is opened until first use).

        `background_checkpoints` (a SQLite file): the units of work's commits leave copying
        the log to `checkpointer`, which the caller must run (`dlxh serve` does; see
        storage/checkpoints.py).
        """
        engine_options.setdefault("json_serializer", json_text)
        if not is_sqlite_url(url):
            return cls(create_async_engine(url, **engine_options))
        ensure_sqlite_directory(url)
        # A unit of work already rolls back what it did not commit when it closes its
        # connection; the pool's extra rollback on return would be one more trip to the
        # SQLite thread per unit of work.
        engine_options.setdefault("pool_reset_on_return", None)
        engine = create_async_engine(url, **engine_options)
        _install_sqlite_events(engine)
        inline = inline_engine(url, _on_sqlite_connect, **engine_options)
        path = sqlite_file(url)
        if not background_checkpoints or path is None:
            return cls(engine, inline)
        event.listen(inline, "connect", _leave_checkpoints_to_the_checkpointer)
        return cls(engine, inline, WalCheckpointer(path))

    @property
    def url(self) -> URL:
        return self.engine.url

    @property
    def unit_engine(self) -> Engine:
        """The (synchronous face of the) engine whose connections the units of work use."""
        return self._inline if self._inline is not None else self.engine.sync_engine

    def unit_of_work(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(
            self.engine, self._write_lock, is_postgres=self.is_postgres, inline=self._inline,
            patience_s=SQLITE_BUSY_TIMEOUT_MS / 1000,
        )

    async def ping(self) -> None:
        """Run `SELECT 1`; raises if the database cannot be reached."""
        if self._write_lock is not None:
            async with self._write_lock:
                await self._select_one()
        else:
            await self._select_one()

    async def _select_one(self) -> None:
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        """Close every connection (the checkpointer's too: call this after its `run` ended)."""
        await self.engine.dispose()
        if self.checkpointer is not None:
            self.checkpointer.close()
        if self._inline is not None:
            self._inline.dispose()


if TYPE_CHECKING:  # mypy proves that `Database.unit_of_work` is a `UnitOfWorkFactory`
    from domain.ports import UnitOfWorkFactory

    def _is_factory(database: Database) -> UnitOfWorkFactory:
        return database.unit_of_work
