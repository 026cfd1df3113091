"""People and the channel identities through which they reach the bot."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update

from domain.people import ChannelIdentity, Person, Role
from storage.models import ChannelIdentityRow, PersonRow
from storage.repositories.base import SqlRepository

PERSON_COLUMNS = select(
    PersonRow.id, PersonRow.display_name, PersonRow.role, PersonRow.unit_code,
    PersonRow.created_at, PersonRow.notify_channel, PersonRow.lead,
)
_BY_IDENTITY = PERSON_COLUMNS.join(
    ChannelIdentityRow, ChannelIdentityRow.person_id == PersonRow.id
).where(
    ChannelIdentityRow.channel == bindparam("channel"),
    ChannelIdentityRow.external_id == bindparam("external_id"),
)
_HEARD_FROM = _BY_IDENTITY.add_columns(ChannelIdentityRow.unreachable_at)
_GET = PERSON_COLUMNS.where(PersonRow.id == bindparam("person_id"))
_GET_MANY = PERSON_COLUMNS.where(PersonRow.id.in_(bindparam("ids", expanding=True)))
_ADD_PERSON = insert(PersonRow).returning(PersonRow.id)
# Built once: each report filed reads the board's officers (a statement built per call cost
# more than running it).
_WITH_ROLE = PERSON_COLUMNS.where(PersonRow.role == bindparam("role")).order_by(PersonRow.id)
_WITH_ROLE_IN_UNIT = _WITH_ROLE.where(PersonRow.unit_code == bindparam("unit"))
_SET_ROLE = (
    update(PersonRow)
    .where(PersonRow.id == bindparam("person_id"))
    .values(role=bindparam("new_role"), unit_code=bindparam("new_unit"))
)
_IDENTITIES = (
    select(
        ChannelIdentityRow.channel, ChannelIdentityRow.external_id, ChannelIdentityRow.chat_id,
        ChannelIdentityRow.person_id,
    )
    .where(ChannelIdentityRow.person_id == bindparam("person_id"))
    .order_by(ChannelIdentityRow.channel, ChannelIdentityRow.external_id)
)

_MARK_REACHABLE = (
    update(ChannelIdentityRow)
    .where(
        ChannelIdentityRow.channel == bindparam("on_channel"),
        ChannelIdentityRow.external_id == bindparam("of_user"),
        ChannelIdentityRow.unreachable_at.is_not(None),
    )
    .values(unreachable_at=None)
)


def person_of(row: Any) -> Person:
    return Person(
        id=row.id, display_name=row.display_name, role=Role(row.role), unit_code=row.unit_code,
        created_at=row.created_at, notify_channel=row.notify_channel, lead=bool(row.lead),
    )


class SqlPeople(SqlRepository):
    async def by_identity(self, channel: str, external_id: str) -> Person | None:
        result = await self._run(_BY_IDENTITY, {"channel": channel, "external_id": external_id})
        row = result.first()
        return None if row is None else person_of(row)

    async def get(self, person_id: int) -> Person | None:
        row = (await self._run(_GET, {"person_id": person_id})).first()
        return None if row is None else person_of(row)

    async def get_many(self, person_ids: Collection[int]) -> dict[int, Person]:
        if not person_ids:
            return {}
        rows = (await self._run(_GET_MANY, {"ids": sorted(set(person_ids))})).all()
        return {row.id: person_of(row) for row in rows}

    async def add(
        self, display_name: str, role: Role, unit_code: str | None, now: datetime,
        identity: tuple[str, str, str],
    ) -> Person:
        person_id: int = (await self._run(_ADD_PERSON, {
            "display_name": display_name, "role": role.value, "unit_code": unit_code,
            "created_at": now,
        })).scalar_one()
        channel, external_id, chat_id = identity
        await self._run(insert(ChannelIdentityRow), {
            "channel": channel, "external_id": external_id, "chat_id": chat_id,
            "person_id": person_id, "created_at": now,
        })
        return Person(person_id, display_name, role, unit_code, now.astimezone(UTC))

    async def set_role(self, person_id: int, role: Role, unit_code: str | None) -> None:
        await self._run(
            _SET_ROLE, {"person_id": person_id, "new_role": role.value, "new_unit": unit_code}
        )

    async def identities(self, person_id: int) -> list[ChannelIdentity]:
        rows = (await self._run(_IDENTITIES, {"person_id": person_id})).all()
        return [ChannelIdentity(r.channel, r.external_id, r.chat_id, r.person_id) for r in rows]

    async def move_identity(self, channel: str, external_id: str, person_id: int) -> None:
        await self._run(
            update(ChannelIdentityRow)
            .where(ChannelIdentityRow.channel == channel,
                   ChannelIdentityRow.external_id == external_id)
            .values(person_id=person_id)
        )

    async def set_notify_channel(self, person_id: int, channel: str | None) -> None:
        await self._run(
            update(PersonRow).where(PersonRow.id == person_id).values(notify_channel=channel)
        )

    async def set_lead(self, person_id: int, lead: bool) -> None:
        await self._run(update(PersonRow).where(PersonRow.id == person_id).values(lead=lead))

    async def heard_from(self, channel: str, external_id: str) -> Person | None:
        # Runs for every incoming message: one read, and a write only after a block.
        params = {"channel": channel, "external_id": external_id}
        row = (await self._run(_HEARD_FROM, params)).first()
        if row is None:
            return None
        if row.unreachable_at is not None:
            await self._run(_MARK_REACHABLE, {"on_channel": channel, "of_user": external_id})
        return person_of(row)

    async def with_role(self, role: Role, unit_code: str | None = None) -> list[Person]:
        if unit_code is None:
            rows = await self._run(_WITH_ROLE, {"role": role.value})
        else:
            rows = await self._run(_WITH_ROLE_IN_UNIT, {"role": role.value, "unit": unit_code})
        return [person_of(row) for row in rows.all()]
