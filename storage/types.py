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


# JSON documents: JSONB on PostgreSQL, JSON (text) on SQLite.
JSONDocument: TypeEngine[Any] = JSON().with_variant(JSONB(), "postgresql")

# Ids of append-heavy tables: BIGSERIAL on PostgreSQL, the rowid alias on SQLite.
BigId: TypeEngine[int] = BigInteger().with_variant(Integer(), "sqlite")
