"""What residents follow: wards and topics (category codes), for orientation broadcasts."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import bindparam, delete, insert, select

from domain.broadcasts import SubscriptionKind
from storage.models import SubscriptionRow
from storage.repositories.base import SqlRepository

_OF = select(SubscriptionRow.kind, SubscriptionRow.code).where(
    SubscriptionRow.person_id == bindparam("person_id")
)
_CLEAR = delete(SubscriptionRow).where(SubscriptionRow.person_id == bindparam("person_id"))
_ADD = insert(SubscriptionRow)


class SqlSubscriptions(SqlRepository):
    async def of(self, person_id: int) -> tuple[frozenset[str], frozenset[str]]:
        rows = (await self._run(_OF, {"person_id": person_id})).all()
        return (
            frozenset(r.code for r in rows if r.kind == SubscriptionKind.WARD.value),
            frozenset(r.code for r in rows if r.kind == SubscriptionKind.TOPIC.value),
        )

    async def replace(
        self, person_id: int, wards: Collection[str], topics: Collection[str], now: datetime
    ) -> None:
        await self.clear(person_id)
        rows = [
            {"person_id": person_id, "kind": kind.value, "code": code, "created_at": now}
            for kind, codes in ((SubscriptionKind.WARD, wards), (SubscriptionKind.TOPIC, topics))
            for code in sorted(set(codes))
        ]
        if rows:
            await self._run(_ADD, rows)

    async def clear(self, person_id: int) -> int:
        return (await self._run(_CLEAR, {"person_id": person_id})).rowcount
