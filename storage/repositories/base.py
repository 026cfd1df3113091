"""What the SQL repositories share: the unit of work's connection, dialect-specific inserts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Executable
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult

from storage.inline_sqlite import OpenConnection

DialectInsert = sqlite.Insert | postgresql.Insert


class ConnectionSource(Protocol):
    """The unit of work: hands out its connection while it is open."""

    is_postgres: bool

    @property
    def connection(self) -> OpenConnection: ...


@dataclass(frozen=True)
class PerDialect:
    """One statement built for SQLite and for PostgreSQL (their upserts are different classes)."""

    sqlite: Executable
    postgresql: Executable

    @classmethod
    def build(cls, table: Any, make: Callable[[DialectInsert], Executable]) -> PerDialect:
        return cls(make(sqlite.insert(table)), make(postgresql.insert(table)))

    def pick(self, is_postgres: bool) -> Executable:
        return self.postgresql if is_postgres else self.sqlite


class SqlRepository:
    """Base of the repositories: statements run on the open connection of the unit of work."""

    def __init__(self, source: ConnectionSource) -> None:
        self._source = source

    async def _run(
        self, statement: Executable, params: dict[str, Any] | list[dict[str, Any]] | None = None
    ) -> CursorResult[Any]:
        return await self._source.connection.execute(statement, params)

    async def _run_dialect(
        self, statement: PerDialect, params: dict[str, Any] | None = None
    ) -> CursorResult[Any]:
        chosen = statement.pick(self._source.is_postgres)
        return await self._source.connection.execute(chosen, params)
