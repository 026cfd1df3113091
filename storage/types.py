"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Collection, Hashable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, DateTime, Integer, MetaData, Table
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import FromClause
from sqlalchemy.types import NullType, TypeDecorator, TypeEngine


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware moment, stored in UTC and always read back as an aware UTC datetime.

    SQLite keeps no offset, so values are converted to UTC before writing and get UTC attached
    when read; PostgreSQL stores `timestamptz`. Naive datetimes are refused.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: storage needs timezone-aware moments")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def result_processor(self, dialect: Dialect, coltype: object) -> Any:
        # SQLite: the text SQLAlchemy wrote (UTC, no offset) read in one step. The usual path
        # (SQLite's DATETIME parser, then `process_result_value`) costs 0.75 µs a value
        # against 0.1 µs, and a sweep reads ~16,000 of them (bench.sweep).
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)
        usual = super().result_processor(dialect, coltype)
        assert usual is not None

        def process(value: str | None) -> datetime | None:
            if value is None:
                return None
            try:
                fast = datetime.fromisoformat(value + "+00:00")
            except (TypeError, ValueError):
                fast = None
            if fast is not None and fast.tzinfo is not None:  # a date alone would come naive
                return fast
            read: datetime | None = usual(value)  # not the text SQLAlchemy writes
            return read

        return process


# JSON documents: JSONB on PostgreSQL, JSON (text) on SQLite.
JSONDocument: TypeEngine[Any] = JSON().with_variant(JSONB(), "postgresql")

# Ids of append-heavy tables: BIGSERIAL on PostgreSQL, the rowid alias on SQLite.
BigId: TypeEngine[int] = BigInteger().with_variant(Integer(), "sqlite")


_UNSET: Any = object()


class Shared:
    """A value bound in many rows of one statement (one `now`, one message to many chats),
    converted for the database once instead of once per row: see `shared_table`. Made for one
    statement; the value is never changed after."""

    __slots__ = ("_converted", "value")

    def __init__(self, value: Any) -> None:
        self.value = value
        self._converted = _UNSET

    def converted(self, convert: Callable[[Any], Any] | None) -> Any:
        if self._converted is _UNSET:
            self._converted = self.value if convert is None else convert(self.value)
        return self._converted


class SharedValue(TypeDecorator[Any]):
    """Rendered and stored exactly as `of`, bound from a `Shared`: converted by `of` once."""

    impl = NullType
    cache_ok = True

    def __init__(self, of: TypeEngine[Any]) -> None:
        super().__init__()
        self.of = of

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        # The type `of` wraps, so that PostgreSQL gets the same casts as for `of` itself.
        return self.of.impl_instance if isinstance(self.of, TypeDecorator) else self.of

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any]:
        convert = self.of.dialect_impl(dialect).bind_processor(dialect)

        def process(shared: Shared) -> Any:
            return shared.converted(convert)

        return process

    def result_processor(self, dialect: Dialect, coltype: object) -> Any:
        """Read back (RETURNING) as `of` reads it."""
        return self.of.dialect_impl(dialect).result_processor(dialect, coltype)


def shared_values() -> Callable[[Hashable, Any], Shared]:
    """`share(key, value)`: one `Shared` per distinct key (value) among the rows of a statement.
    Keys equal as Python values must be stored alike (aware moments: the same instant)."""
    found: dict[Hashable, Shared] = {}

    def share(key: Hashable, value: Any) -> Shared:
        shared = found.get(key)
        if shared is None:
            shared = found[key] = Shared(value)
        return shared

    return share


def shared_table(table: FromClause, names: Collection[str]) -> Table:
    """`table` for bulk INSERTs whose columns `names` are bound from `Shared` values (the rest
    as usual). Only its columns are copied: no constraints, no Python-side defaults (refused)."""
    assert isinstance(table, Table)
    if any(c.default is not None or c.onupdate is not None for c in table.columns):
        raise ValueError(f"{table.name}: a column with a Python-side default would be lost")
    columns = [
        Column(
            c.name, SharedValue(c.type) if c.name in names else c.type,
            primary_key=c.primary_key, autoincrement=c.autoincrement,
        )
        for c in table.columns
    ]
    return Table(table.name, MetaData(), *columns)
