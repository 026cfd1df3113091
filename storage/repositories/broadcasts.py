"""Orientation broadcasts, their audiences' members and one copy per recipient.

A copy's delivery is the state of its outbox row: counting joins the copies to the outbox and
groups by status, so the dispatcher never writes to broadcast tables.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import BindParameter, and_, bindparam, func, insert, select, true, update

from domain.broadcasts import (
    Audience,
    Broadcast,
    BroadcastStatus,
    DeliveryCounts,
    Member,
    Recipient,
    SubscriptionKind,
)
from domain.messages import OutboxStatus, Priority, Reply
from domain.people import ChannelIdentity, Role
from domain.ports import PendingCopy
from storage.models import (
    BroadcastCopyRow,
    BroadcastRow,
    ChannelIdentityRow,
    CounterRow,
    OutboxRow,
    PersonRow,
    SubscriptionRow,
)
from storage.repositories.base import PerDialect, SqlRepository
from storage.repositories.people import PERSON_COLUMNS, person_of

_NEXT_NUMBER = PerDialect.build(CounterRow, lambda insert_: insert_.values(
    name=bindparam("counter"), value=1,
).on_conflict_do_update(
    index_elements=[CounterRow.name], set_={"value": CounterRow.value + 1},
).returning(CounterRow.value))

_BROADCASTS = select(BroadcastRow.__table__)
_ADD = insert(BroadcastRow).returning(BroadcastRow.id)
_GET = _BROADCASTS.where(BroadcastRow.id == bindparam("broadcast_id"))
_BY_CODE = _BROADCASTS.where(BroadcastRow.code == bindparam("code"))
_ALL = _BROADCASTS.order_by(BroadcastRow.created_at.desc(), BroadcastRow.id.desc())
_WITH_STATUS = (
    _BROADCASTS.where(BroadcastRow.status == bindparam("wanted"))
    .order_by(BroadcastRow.send_at, BroadcastRow.id)
    .limit(bindparam("limit"))
)
_DUE = _WITH_STATUS.where(BroadcastRow.send_at <= bindparam("until"))
_WHEN = {BroadcastStatus.SENDING: "started_at", BroadcastStatus.DONE: "finished_at"}

_ROLES: BindParameter[Any] = bindparam("roles", expanding=True)
_MEMBERS = PERSON_COLUMNS.where(PersonRow.role.in_(_ROLES)).order_by(PersonRow.id)
_REACHABLE = (
    select(
        ChannelIdentityRow.channel, ChannelIdentityRow.external_id, ChannelIdentityRow.chat_id,
        ChannelIdentityRow.person_id,
    )
    .join(PersonRow, PersonRow.id == ChannelIdentityRow.person_id)
    .where(PersonRow.role.in_(_ROLES), ChannelIdentityRow.unreachable_at.is_(None))
    .order_by(
        ChannelIdentityRow.person_id, ChannelIdentityRow.created_at.asc().nulls_first(),
        ChannelIdentityRow.channel, ChannelIdentityRow.external_id,
    )
)
_FOLLOWED = (
    select(SubscriptionRow.person_id, SubscriptionRow.kind, SubscriptionRow.code)
    .join(PersonRow, PersonRow.id == SubscriptionRow.person_id)
    .where(PersonRow.role == Role.RESIDENT.value)
)

# The outbox ids of the copies, in the order of the rows, in a few multi-row INSERTs. PostgreSQL:
# SQLAlchemy orders them (sort_by_parameter_order). SQLite: SQLAlchemy would send one INSERT per
# row for that, but a row's new rowid is the largest plus one and the rows of an INSERT are
# written in order, inside our write transaction: sorting the ids gives the order of the rows.
_ADD_OUTBOX_POSTGRES = insert(OutboxRow).returning(OutboxRow.id, sort_by_parameter_order=True)
_ADD_OUTBOX_SQLITE = insert(OutboxRow).returning(OutboxRow.id)
_ADD_COPIES = insert(BroadcastCopyRow)

# Bind names differ from the column names: an UPDATE reserves those for its SET clause.
_OF_BROADCAST = BroadcastCopyRow.broadcast_id == bindparam("of_broadcast")
_COPY_OUTBOX = OutboxRow.id == BroadcastCopyRow.outbox_id
_UNFINISHED_STATUSES = (OutboxStatus.PENDING.value, OutboxStatus.SENDING.value)
# A copy the person may say they relayed: it went out (or is going out right now).
_RELAYABLE_STATUSES = (OutboxStatus.SENT.value, OutboxStatus.SENDING.value)
_COUNTS = (
    select(
        OutboxRow.status, OutboxRow.blocked, func.count().label("copies"),
        func.count(BroadcastCopyRow.relayed_at).label("relayed"),
    )
    .select_from(BroadcastCopyRow)
    .join(OutboxRow, _COPY_OUTBOX)
    .where(_OF_BROADCAST)
    .group_by(OutboxRow.status, OutboxRow.blocked)
)
_UNFINISHED = (
    select(func.count())
    .select_from(BroadcastCopyRow)
    .join(OutboxRow, _COPY_OUTBOX)
    .where(_OF_BROADCAST, OutboxRow.status.in_(_UNFINISHED_STATUSES))
)
_DELIVERED = (
    select(OutboxRow.id)
    .where(OutboxRow.id == BroadcastCopyRow.outbox_id,
           OutboxRow.status.in_(_RELAYABLE_STATUSES))
    .exists()
)
# Only a copy that went out can be relayed: a forged or early button changes nothing.
_THE_COPY = and_(
    _OF_BROADCAST, BroadcastCopyRow.person_id == bindparam("of_person"), _DELIVERED
)
_RELAY = (
    update(BroadcastCopyRow)
    .where(_THE_COPY, BroadcastCopyRow.relays == true(), BroadcastCopyRow.relayed_at.is_(None))
    .values(relayed_at=bindparam("at"))
)
_RELAYS = select(BroadcastCopyRow.relays).where(_THE_COPY)
_COPIES_OF_PERSON = (
    _BROADCASTS.add_columns(BroadcastCopyRow.outbox_id)
    .join(BroadcastCopyRow, BroadcastCopyRow.broadcast_id == BroadcastRow.id)
    .join(OutboxRow, _COPY_OUTBOX)
    .where(BroadcastCopyRow.person_id == bindparam("of_person"))
)
_LATEST_RELAYABLE = (
    _COPIES_OF_PERSON.where(
        BroadcastCopyRow.relays == true(), BroadcastCopyRow.relayed_at.is_(None),
        OutboxRow.status.in_(_RELAYABLE_STATUSES),
    )
    .order_by(BroadcastCopyRow.outbox_id.desc())
    .limit(1)
)
_PENDING_COPIES = _COPIES_OF_PERSON.where(
    OutboxRow.status == OutboxStatus.PENDING.value
).order_by(BroadcastCopyRow.outbox_id)


def counter_name(year: int) -> str:
    return f"broadcast:{year}"


def _broadcast(row: Any) -> Broadcast:
    return Broadcast(
        id=row.id, code=row.code, author_id=row.author_id, text=row.text, photo=row.photo_sha,
        audience=Audience.from_json(row.audience), status=BroadcastStatus(row.status),
        created_at=row.created_at, send_at=row.send_at, case_code=row.case_code,
        started_at=row.started_at, finished_at=row.finished_at,
    )


def _outbox_row(recipient: Recipient, reply: Reply, now: datetime) -> dict[str, Any]:
    return {
        "channel": recipient.channel, "chat_id": recipient.chat_id, "payload": reply.to_json(),
        "status": OutboxStatus.PENDING.value, "attempts": 0, "priority": Priority.BROADCAST,
        "next_attempt_at": now, "created_at": now,
    }


class SqlBroadcasts(SqlRepository):
    async def next_number(self, year: int) -> int:
        result = await self._run_dialect(_NEXT_NUMBER, {"counter": counter_name(year)})
        return int(result.scalar_one())

    async def add(self, broadcast: Broadcast) -> Broadcast:
        broadcast_id: int = (await self._run(_ADD, {
            "code": broadcast.code, "author_id": broadcast.author_id, "text": broadcast.text,
            "photo_sha": broadcast.photo, "audience": broadcast.audience.to_json(),
            "status": broadcast.status.value, "send_at": broadcast.send_at,
            "created_at": broadcast.created_at, "started_at": broadcast.started_at,
            "finished_at": broadcast.finished_at, "case_code": broadcast.case_code,
        })).scalar_one()
        return replace(broadcast, id=broadcast_id)

    async def get(self, broadcast_id: int) -> Broadcast | None:
        row = (await self._run(_GET, {"broadcast_id": broadcast_id})).first()
        return None if row is None else _broadcast(row)

    async def by_code(self, code: str) -> Broadcast | None:
        row = (await self._run(_BY_CODE, {"code": code})).first()
        return None if row is None else _broadcast(row)

    async def all(self) -> list[Broadcast]:
        return [_broadcast(row) for row in (await self._run(_ALL)).all()]

    async def with_status(self, status: BroadcastStatus, limit: int = 1000) -> list[Broadcast]:
        rows = (await self._run(_WITH_STATUS, {"wanted": status.value, "limit": limit})).all()
        return [_broadcast(row) for row in rows]

    async def due(self, until: datetime, limit: int) -> list[Broadcast]:
        rows = (await self._run(_DUE, {
            "wanted": BroadcastStatus.SCHEDULED.value, "until": until, "limit": limit,
        })).all()
        return [_broadcast(row) for row in rows]

    async def set_status_if(
        self, broadcast_id: int, expected: BroadcastStatus, status: BroadcastStatus,
        at: datetime,
    ) -> bool:
        values: dict[str, Any] = {"status": status.value}
        if status in _WHEN:
            values[_WHEN[status]] = at
        result = await self._run(
            update(BroadcastRow)
            .where(BroadcastRow.id == broadcast_id, BroadcastRow.status == expected.value)
            .values(**values)
        )
        return result.rowcount == 1

    async def members(self, roles: Collection[Role]) -> list[Member]:
        """Three queries whatever the number of people: people, reachable identities and, for
        residents, what they follow."""
        wanted = sorted({role.value for role in roles})
        if not wanted:
            return []
        people = (await self._run(_MEMBERS, {"roles": wanted})).all()
        identities: defaultdict[int, list[ChannelIdentity]] = defaultdict(list)
        for r in (await self._run(_REACHABLE, {"roles": wanted})).all():
            identities[r.person_id].append(
                ChannelIdentity(r.channel, r.external_id, r.chat_id, r.person_id)
            )
        followed: defaultdict[tuple[int, str], set[str]] = defaultdict(set)
        if Role.RESIDENT.value in wanted:
            for r in (await self._run(_FOLLOWED)).all():
                followed[(r.person_id, r.kind)].add(r.code)
        ward, topic = SubscriptionKind.WARD.value, SubscriptionKind.TOPIC.value
        return [
            Member(
                person_of(row), tuple(identities.get(row.id, ())),
                frozenset(followed.get((row.id, ward), ())),
                frozenset(followed.get((row.id, topic), ())),
            )
            for row in people
        ]

    async def add_copies(
        self, broadcast_id: int, copies: Sequence[tuple[Recipient, Reply]], now: datetime
    ) -> int:
        if not copies:
            return 0
        rows = [_outbox_row(recipient, reply, now) for recipient, reply in copies]
        if self._source.is_postgres:
            outbox_ids = list((await self._run(_ADD_OUTBOX_POSTGRES, rows)).scalars())
        else:
            outbox_ids = sorted((await self._run(_ADD_OUTBOX_SQLITE, rows)).scalars())
        await self._run(_ADD_COPIES, [
            {
                "broadcast_id": broadcast_id, "person_id": recipient.person_id,
                "channel": recipient.channel, "chat_id": recipient.chat_id,
                "outbox_id": outbox_id, "relays": recipient.relays,
            }
            for (recipient, _), outbox_id in zip(copies, outbox_ids, strict=True)
        ])
        return len(copies)

    async def counts(self, broadcast_id: int) -> DeliveryCounts:
        by_status: defaultdict[str, int] = defaultdict(int)
        blocked = relayed = 0
        for row in (await self._run(_COUNTS, {"of_broadcast": broadcast_id})).all():
            by_status[row.status] += row.copies
            relayed += row.relayed
            if row.status == OutboxStatus.FAILED.value and row.blocked:
                blocked += row.copies
        return DeliveryCounts(
            recipients=sum(by_status.values()),
            delivered=by_status[OutboxStatus.SENT.value],
            failed=by_status[OutboxStatus.FAILED.value] - blocked,
            blocked=blocked,
            skipped=by_status[OutboxStatus.CANCELLED.value],
            pending=sum(by_status[status] for status in _UNFINISHED_STATUSES),
            relayed=relayed,
        )

    async def unfinished(self, broadcast_id: int) -> int:
        result = await self._run(_UNFINISHED, {"of_broadcast": broadcast_id})
        return int(result.scalar_one())

    async def relay(self, broadcast_id: int, person_id: int, at: datetime) -> bool | None:
        the_copy = {"of_broadcast": broadcast_id, "of_person": person_id}
        if (await self._run(_RELAY, {**the_copy, "at": at})).rowcount == 1:
            return True
        relays = (await self._run(_RELAYS, the_copy)).scalar_one_or_none()
        return False if relays else None

    async def latest_relayable(self, person_id: int) -> Broadcast | None:
        row = (await self._run(_LATEST_RELAYABLE, {"of_person": person_id})).first()
        return None if row is None else _broadcast(row)

    async def pending_copies(self, person_id: int) -> list[PendingCopy]:
        rows = (await self._run(_PENDING_COPIES, {"of_person": person_id})).all()
        return [PendingCopy(row.outbox_id, _broadcast(row)) for row in rows]
