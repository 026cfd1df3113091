"""One-time invitation codes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update

from domain.invitations import Invitation
from domain.people import Role
from storage.models import InvitationRow
from storage.repositories.base import SqlRepository

_GET = select(
    InvitationRow.code, InvitationRow.role, InvitationRow.unit_code, InvitationRow.created_at,
    InvitationRow.expires_at, InvitationRow.used_at, InvitationRow.used_by, InvitationRow.lead,
).where(InvitationRow.code == bindparam("code"))

_MARK_USED = (
    update(InvitationRow)
    .where(InvitationRow.code == bindparam("c"), InvitationRow.used_at.is_(None))
    .values(used_at=bindparam("at"), used_by=bindparam("person_id"))
)


def _invitation(row: Any) -> Invitation:
    return Invitation(
        code=row.code, role=Role(row.role), unit_code=row.unit_code, created_at=row.created_at,
        expires_at=row.expires_at, used_at=row.used_at, used_by=row.used_by,
        lead=bool(row.lead),
    )


class SqlInvitations(SqlRepository):
    async def add(self, invitation: Invitation) -> None:
        await self._run(insert(InvitationRow), {
            "code": invitation.code, "role": invitation.role.value,
            "unit_code": invitation.unit_code, "created_at": invitation.created_at,
            "expires_at": invitation.expires_at, "used_at": invitation.used_at,
            "used_by": invitation.used_by, "lead": invitation.lead,
        })

    async def get(self, code: str) -> Invitation | None:
        row = (await self._run(_GET, {"code": code})).first()
        return None if row is None else _invitation(row)

    async def mark_used(self, code: str, person_id: int, at: datetime) -> bool:
        result = await self._run(_MARK_USED, {"c": code, "at": at, "person_id": person_id})
        return result.rowcount == 1
