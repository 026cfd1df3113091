"""Unfinished conversations, one per person, so that a restart resumes where it stopped."""

from __future__ import annotations

from sqlalchemy import bindparam, delete, select

from domain.ports import Draft
from storage.models import DraftRow
from storage.repositories.base import DialectInsert, PerDialect, SqlRepository

_UPDATED = ("flow", "step", "data", "revision", "created_at", "updated_at")


def _upsert(insert_: DialectInsert) -> DialectInsert:
    excluded = insert_.excluded
    return insert_.on_conflict_do_update(
        index_elements=[DraftRow.person_id],
        set_={name: excluded[name] for name in _UPDATED},
    )


_SAVE = PerDialect.build(DraftRow, _upsert)
_GET = select(
    DraftRow.person_id, DraftRow.flow, DraftRow.step, DraftRow.data, DraftRow.revision,
    DraftRow.created_at, DraftRow.updated_at,
).where(DraftRow.person_id == bindparam("person_id"))
_DELETE = delete(DraftRow).where(DraftRow.person_id == bindparam("person_id"))


class SqlDrafts(SqlRepository):
    async def get(self, person_id: int) -> Draft | None:
        row = (await self._run(_GET, {"person_id": person_id})).first()
        if row is None:
            return None
        return Draft(
            person_id=row.person_id, flow=row.flow, step=row.step, data=dict(row.data),
            revision=row.revision, created_at=row.created_at, updated_at=row.updated_at,
        )

    async def save(self, draft: Draft) -> None:
        await self._run_dialect(_SAVE, {
            "person_id": draft.person_id, "flow": draft.flow, "step": draft.step,
            "data": draft.data, "revision": draft.revision, "created_at": draft.created_at,
            "updated_at": draft.updated_at,
        })

    async def delete(self, person_id: int) -> None:
        await self._run(_DELETE, {"person_id": person_id})
