"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Integer
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine


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
