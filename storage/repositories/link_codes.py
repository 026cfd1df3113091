"""Codes that link a person's Telegram and Zalo."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, update

from storage.models import LinkCodeRow
from storage.repositories.base import SqlRepository


class SqlLinkCodes(SqlRepository):
    async def add(self, code: str, person_id: int, expires_at: datetime) -> None:
        await self._run(
            insert(LinkCodeRow),
            {"code": code, "person_id": person_id, "expires_at": expires_at, "used_at": None},
        )

    async def take(self, code: str, now: datetime) -> int | None:
        # One conditional UPDATE: two chats typing the same code cannot both take it.
        statement = (
            update(LinkCodeRow)
            .where(LinkCodeRow.code == code, LinkCodeRow.used_at.is_(None),
                   LinkCodeRow.expires_at > now)
            .values(used_at=now)
            .returning(LinkCodeRow.person_id)
        )
        row = (await self._run(statement)).first()
        return None if row is None else int(row.person_id)
