"""Jobs that must happen once per period."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, select

from storage.models import JobRunRow
from storage.repositories.base import PerDialect, SqlRepository

# ON CONFLICT DO NOTHING: of two schedulers claiming the same job at once, exactly one wins.
_CLAIM = PerDialect.build(
    JobRunRow.__table__,
    lambda insert: insert.values(name=bindparam("name"), at=bindparam("at"))
    .on_conflict_do_nothing(),
)


_RAN = select(JobRunRow.name).where(JobRunRow.name == bindparam("name"))
_AT = select(JobRunRow.at).where(JobRunRow.name == bindparam("name"))


class SqlJobRuns(SqlRepository):
    async def claim(self, name: str, at: datetime) -> bool:
        result = await self._run_dialect(_CLAIM, {"name": name, "at": at})
        return bool(result.rowcount == 1)

    async def ran(self, name: str) -> bool:
        return (await self._run(_RAN, {"name": name})).first() is not None

    async def claimed_at(self, name: str) -> datetime | None:
        at: datetime | None = (await self._run(_AT, {"name": name})).scalar_one_or_none()
        return at
