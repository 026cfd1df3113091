"""A broadcast already launched, with thousands of recipients, written straight into a database:
for the delivery tests and `bench/broadcast.py`, which are about sending the copies, not about
how an officer planned them.

The recipients are inserted in bulk (people and their identities), then the broadcast and its
copies go through the storage port like a launch does (`uow.broadcasts.add_copies`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import insert, select

from domain.broadcasts import Audience, AudienceKind, Broadcast, BroadcastStatus, Recipient
from domain.messages import OutboxItem, OutboxStatus, Reply
from domain.people import Role
from storage.database import Database
from storage.models import ChannelIdentityRow, OutboxRow, PersonRow

Chat = tuple[str, str]  # (channel, chat_id)


@dataclass(frozen=True)
class Seeded:
    broadcast_id: int
    outbox_ids: dict[Chat, int]  # each recipient's copy


def telegram_chats(count: int, first: int = 70_000_000) -> list[Chat]:
    return [("telegram", str(first + n)) for n in range(count)]


def zalo_chats(count: int) -> list[Chat]:
    return [("zalo", f"z{n:08x}") for n in range(count)]


def copy_text(channel: str, chat_id: str) -> str:
    return f"Định hướng: thông tin chính thức về việc giải phóng mặt bằng ({chat_id})"


async def seed_broadcast(
    database_url: str, chats: Sequence[Chat], now: datetime | None = None
) -> Seeded:
    """One collaborator per chat and one sending broadcast with a copy to each of them.

    Its author has no chat, so the delivery report of the finished broadcast goes nowhere and
    every chat receives exactly its copy."""
    now = now or datetime.now(UTC)
    database = Database.connect(database_url)
    try:
        async with database.engine.begin() as connection:
            people = [
                {"display_name": f"CTV {n}", "role": Role.COLLABORATOR.value,
                 "unit_code": "bo-de", "created_at": now}
                for n in range(len(chats))
            ]
            add_people = insert(PersonRow).returning(PersonRow.id, sort_by_parameter_order=True)
            author_id = (await connection.execute(add_people, [
                {"display_name": "Cán bộ Ban", "role": Role.BOARD.value, "unit_code": None,
                 "created_at": now},
            ])).scalar_one()
            person_ids = list((await connection.execute(add_people, people)).scalars())
            await connection.execute(insert(ChannelIdentityRow), [
                {"channel": channel, "external_id": chat_id, "chat_id": chat_id,
                 "person_id": person_id, "created_at": now}
                for (channel, chat_id), person_id in zip(chats, person_ids, strict=True)
            ])
        async with database.unit_of_work() as uow:
            broadcast = await uow.broadcasts.add(Broadcast(
                None, "DH-2026-000001", author_id, "Thông tin định hướng", None,
                Audience(AudienceKind.COLLABORATORS), BroadcastStatus.SENDING, now, now,
                started_at=now,
            ))
            assert broadcast.id is not None
            await uow.broadcasts.add_copies(broadcast.id, [
                (Recipient(person_id, channel, chat_id, relays=False),
                 Reply(copy_text(channel, chat_id)))
                for (channel, chat_id), person_id in zip(chats, person_ids, strict=True)
            ], now)
            await uow.commit()
        async with database.engine.connect() as connection:
            rows = (await connection.execute(
                select(OutboxRow.id, OutboxRow.channel, OutboxRow.chat_id)
            )).all()
        return Seeded(broadcast.id, {(r.channel, r.chat_id): r.id for r in rows})
    finally:
        await database.dispose()


def status_counts(items: Sequence[OutboxItem]) -> Counter[OutboxStatus]:
    return Counter(item.status for item in items)
