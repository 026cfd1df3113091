"""Broadcasts and their copies on the in-memory fake, SQLite and PostgreSQL; 10,000 copies."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from sqlalchemy import event, func, insert, select

from domain.broadcasts import (
    Audience,
    AudienceKind,
    Broadcast,
    BroadcastStatus,
    DeliveryCounts,
    Recipient,
)
from domain.messages import OutboxStatus, Priority, Reply
from domain.people import Person, Role
from domain.ports import PendingCopy, UnitOfWork, UnitOfWorkFactory
from storage.database import Database
from storage.models import BroadcastCopyRow, ChannelIdentityRow, OutboxRow, PersonRow
from tests.storage.builders import NOW

MINUTE = timedelta(minutes=1)


async def person(
    uow: UnitOfWork, external_id: str, role: Role = Role.COLLABORATOR,
    unit_code: str | None = "w01",
) -> Person:
    identity = ("telegram", external_id, f"chat-{external_id}")
    return await uow.people.add(f"Person {external_id}", role, unit_code, NOW, identity)


def new_broadcast(
    author_id: int, number: int, *, send_at: timedelta = timedelta(0),
    status: BroadcastStatus = BroadcastStatus.SCHEDULED, created_at: timedelta = timedelta(0),
) -> Broadcast:
    return Broadcast(
        id=None, code=f"DH-2026-{number:06d}", author_id=author_id, text="Thông tin định hướng",
        photo="a" * 64, audience=Audience(AudienceKind.WARDS, wards=("w01", "w02")),
        status=status, created_at=NOW + created_at, send_at=NOW + send_at,
        case_code="PA-2026-000001",
    )


def copy_of(recipient: Person, relays: bool = True) -> tuple[Recipient, Reply]:
    chat_id = f"chat-{recipient.display_name.removeprefix('Person ')}"
    return Recipient(recipient.id, "telegram", chat_id, relays), Reply(f"copy {recipient.id}")


async def test_broadcasts_numbers_lookups_and_status_moves(
    any_uow_factory: UnitOfWorkFactory,
) -> None:
    async with any_uow_factory() as uow:
        assert [await uow.broadcasts.next_number(2026) for _ in range(3)] == [1, 2, 3]
        assert await uow.broadcasts.next_number(2027) == 1
        assert await uow.reports.next_number(2026) == 1  # a sequence of its own
        author = await person(uow, "1", Role.BOARD, None)
        later = await uow.broadcasts.add(new_broadcast(author.id, 1, send_at=2 * MINUTE))
        soon = await uow.broadcasts.add(
            new_broadcast(author.id, 2, send_at=MINUTE, created_at=MINUTE)
        )
        sending = await uow.broadcasts.add(
            new_broadcast(author.id, 3, status=BroadcastStatus.SENDING, created_at=2 * MINUTE)
        )
        await uow.commit()
    assert later.id is not None and soon.id is not None and sending.id is not None

    async with any_uow_factory() as uow:
        assert await uow.broadcasts.get(later.id) == later
        assert await uow.broadcasts.by_code("DH-2026-000002") == soon
        assert await uow.broadcasts.by_code("DH-2026-000009") is None
        assert await uow.broadcasts.get(999) is None
        assert [b.code for b in await uow.broadcasts.all()] == [
            "DH-2026-000003", "DH-2026-000002", "DH-2026-000001"
        ]
        scheduled = await uow.broadcasts.with_status(BroadcastStatus.SCHEDULED)
        assert [b.id for b in scheduled] == [soon.id, later.id]
        assert await uow.broadcasts.with_status(BroadcastStatus.SCHEDULED, 1) == [soon]
        assert await uow.broadcasts.due(NOW, 10) == []
        assert await uow.broadcasts.due(NOW + MINUTE, 10) == [soon]
        assert [b.id for b in await uow.broadcasts.due(NOW + MINUTE * 5, 10)] == [
            soon.id, later.id
        ]
        assert await uow.broadcasts.due(NOW + MINUTE * 5, 1) == [soon]

        start, end = NOW + MINUTE, NOW + 2 * MINUTE
        assert await uow.broadcasts.set_status_if(
            soon.id, BroadcastStatus.SCHEDULED, BroadcastStatus.SENDING, start
        )
        assert not await uow.broadcasts.set_status_if(
            soon.id, BroadcastStatus.SCHEDULED, BroadcastStatus.SENDING, end
        )
        assert await uow.broadcasts.set_status_if(
            soon.id, BroadcastStatus.SENDING, BroadcastStatus.DONE, end
        )
        assert await uow.broadcasts.set_status_if(
            later.id, BroadcastStatus.SCHEDULED, BroadcastStatus.CANCELLED, end
        )
        await uow.commit()

    async with any_uow_factory() as uow:
        done = await uow.broadcasts.get(soon.id)
        cancelled = await uow.broadcasts.get(later.id)
        assert await uow.broadcasts.due(NOW + MINUTE * 5, 10) == []
        assert await uow.broadcasts.with_status(BroadcastStatus.SENDING) == [sending]
    assert done is not None and cancelled is not None
    assert (done.status, done.started_at, done.finished_at) == (BroadcastStatus.DONE, start, end)
    assert (cancelled.status, cancelled.started_at, cancelled.finished_at) == (
        BroadcastStatus.CANCELLED, None, None
    )


async def test_copies_claimed_cancelled_settled_and_counted(
    any_uow_factory: UnitOfWorkFactory,
) -> None:
    async with any_uow_factory() as uow:
        author = await person(uow, "1", Role.BOARD, None)
        people = [await person(uow, str(n)) for n in range(2, 8)]
        broadcast = await uow.broadcasts.add(new_broadcast(author.id, 1))
        assert broadcast.id is not None
        copies = [copy_of(p) for p in people]
        assert await uow.broadcasts.add_copies(broadcast.id, copies, NOW) == 6
        assert await uow.broadcasts.add_copies(broadcast.id, [], NOW) == 0
        await uow.commit()

    async with any_uow_factory() as uow:
        pending = await uow.outbox.pending(10)
        assert [(i.chat_id, i.reply) for i in pending] == [(r.chat_id, m) for r, m in copies]
        assert {i.priority for i in pending} == {Priority.BROADCAST}
        ids = [i.id for i in pending]
        assert await uow.broadcasts.unfinished(broadcast.id) == 6
        assert await uow.outbox.cancel([ids[5]], NOW, "opted out") == 1
        assert await uow.outbox.claim(ids) == set(ids[:5])  # the cancelled copy stays out
        assert await uow.outbox.claim(ids) == set()  # claimed once only
        assert await uow.outbox.claim([]) == set()
        assert await uow.outbox.cancel(ids, NOW, "opted out") == 0  # those are going out
        assert await uow.outbox.pending(10) == []
        assert await uow.broadcasts.unfinished(broadcast.id) == 5
        await uow.outbox.mark_sent(ids[0], NOW + MINUTE)
        await uow.outbox.mark_sent_many([ids[1]], NOW + MINUTE)
        await uow.outbox.mark_failed(ids[2], NOW + MINUTE, "chat not found")
        await uow.outbox.mark_blocked(ids[3], NOW + MINUTE, "bot was blocked by the user")
        await uow.outbox.mark_retry(ids[4], 1, NOW + 2 * MINUTE, "HTTP 429")
        await uow.outbox.mark_retry(ids[0], 1, NOW + 2 * MINUTE, "late")  # sent stays sent
        await uow.outbox.mark_retry(ids[5], 1, NOW + 2 * MINUTE, "late")  # so does cancelled
        await uow.commit()

    async with any_uow_factory() as uow:
        assert [i.id for i in await uow.outbox.pending(10)] == [ids[4]]
        assert await uow.broadcasts.counts(broadcast.id) == DeliveryCounts(
            recipients=6, delivered=2, failed=1, blocked=1, skipped=1, pending=1, relayed=0
        )
        assert [i.id for i in await uow.outbox.failed(10)] == [ids[3], ids[2]]
        assert await uow.outbox.claim([ids[4]]) == {ids[4]}
        assert await uow.outbox.settle_interrupted(NOW + 3 * MINUTE) == 1
        assert await uow.outbox.settle_interrupted(NOW + 4 * MINUTE) == 0
        await uow.commit()

    async with any_uow_factory() as uow:
        everything = {i.id: i for i in await uow.outbox.all()}
        assert await uow.broadcasts.unfinished(broadcast.id) == 0
        assert await uow.broadcasts.counts(broadcast.id) == DeliveryCounts(
            recipients=6, delivered=3, failed=1, blocked=1, skipped=1, pending=0, relayed=0
        )
        assert await uow.broadcasts.counts(999) == DeliveryCounts()
    settled, cancelled = everything[ids[4]], everything[ids[5]]
    assert (settled.status, settled.sent_at, settled.last_error) == (
        OutboxStatus.SENT, NOW + 3 * MINUTE, "interrupted: delivery not confirmed"
    )
    assert (cancelled.status, cancelled.last_error) == (OutboxStatus.CANCELLED, "opted out")
    assert everything[ids[0]].status is OutboxStatus.SENT
    assert everything[ids[3]].status is OutboxStatus.FAILED


async def test_relay_once_and_the_latest_relayable_copy(
    any_uow_factory: UnitOfWorkFactory,
) -> None:
    async with any_uow_factory() as uow:
        author = await person(uow, "1", Role.BOARD, None)
        lan = await person(uow, "2")
        resident = await person(uow, "3", Role.RESIDENT, None)
        ids = []
        for number in (1, 2, 3, 4):
            stored = await uow.broadcasts.add(new_broadcast(author.id, number))
            assert stored.id is not None
            ids.append(stored.id)
        first, second, third, fourth = ids
        await uow.broadcasts.add_copies(first, [copy_of(lan), copy_of(resident, False)], NOW)
        for broadcast_id in (second, third, fourth):
            await uow.broadcasts.add_copies(broadcast_id, [copy_of(lan)], NOW)
        await uow.commit()

    async with any_uow_factory() as uow:
        waiting = await uow.broadcasts.pending_copies(lan.id)
        outbox = [i.id for i in await uow.outbox.pending(10)]
        assert [c.outbox_id for c in waiting] == [outbox[0], *outbox[2:]]
        stored_first = await uow.broadcasts.get(first)
        assert stored_first is not None
        assert waiting[0] == PendingCopy(outbox[0], stored_first)
        assert await uow.broadcasts.latest_relayable(lan.id) is None  # nothing went out yet
        assert await uow.broadcasts.relay(first, lan.id, NOW) is None  # a forged early press
        await uow.outbox.mark_sent_many(outbox[:3], NOW)  # first (both copies) and second
        await uow.outbox.cancel([outbox[4]], NOW, "opted out")  # fourth
        await uow.commit()

    async with any_uow_factory() as uow:
        assert [c.broadcast.id for c in await uow.broadcasts.pending_copies(lan.id)] == [third]
        assert await uow.broadcasts.pending_copies(resident.id) == []
        latest = await uow.broadcasts.latest_relayable(lan.id)
        assert latest is not None and latest.id == second  # third still pending, fourth gone
        assert await uow.broadcasts.relay(second, lan.id, NOW) is True
        assert await uow.broadcasts.relay(second, lan.id, NOW + MINUTE) is False
        assert await uow.broadcasts.relay(first, resident.id, NOW) is None  # does not relay
        assert await uow.broadcasts.relay(first, author.id, NOW) is None  # got no copy
        assert await uow.broadcasts.relay(fourth + 1, lan.id, NOW) is None
        assert await uow.broadcasts.relay(fourth, lan.id, NOW) is None  # cancelled: never got it
        latest = await uow.broadcasts.latest_relayable(lan.id)
        assert latest is not None and latest.id == first
        assert await uow.broadcasts.latest_relayable(resident.id) is None
        await uow.outbox.claim([outbox[3]])  # third is going out right now
        latest = await uow.broadcasts.latest_relayable(lan.id)
        assert latest is not None and latest.id == third
        assert await uow.broadcasts.relay(third, lan.id, NOW)
        assert await uow.broadcasts.relay(first, lan.id, NOW)
        assert await uow.broadcasts.latest_relayable(lan.id) is None
        await uow.commit()

    async with any_uow_factory() as uow:
        assert (await uow.broadcasts.counts(first)).relayed == 1
        assert (await uow.broadcasts.counts(second)).relayed == 1
        assert await uow.broadcasts.relay(first, lan.id, NOW) is False


async def test_members_by_role_with_reachable_identities_oldest_first(
    any_uow_factory: UnitOfWorkFactory,
) -> None:
    async with any_uow_factory() as uow:
        board = await person(uow, "1", Role.BOARD, None)
        handler = await person(uow, "2", Role.HANDLER, "bo-de")
        collaborator = await person(uow, "3")
        await person(uow, "4", Role.ADMIN, None)
        follower = await uow.people.add(
            "Zalo first", Role.RESIDENT, None, NOW, ("zalo", "z5", "zchat-5")
        )
        # Joins later on Telegram, under another name, then links it to the Zalo person.
        newcomer = await uow.people.add(
            "Linked", Role.RESIDENT, None, NOW + MINUTE, ("telegram", "6", "chat-6")
        )
        await uow.people.move_identity("telegram", "6", follower.id)
        await uow.subscriptions.replace(follower.id, ["w01"], ["env", "traffic"], NOW)
        await uow.subscriptions.replace(collaborator.id, ["w02"], [], NOW)
        await uow.commit()

    async with any_uow_factory() as uow:
        staff = await uow.broadcasts.members([Role.BOARD, Role.HANDLER, Role.COLLABORATOR])
        residents = await uow.broadcasts.members({Role.RESIDENT})
        assert await uow.broadcasts.members([]) == []
        assert await uow.broadcasts.members([Role.COLLABORATOR]) == [staff[2]]
    assert [m.person for m in staff] == [board, handler, collaborator]
    assert [[i.chat_id for i in m.identities] for m in staff] == [
        ["chat-1"], ["chat-2"], ["chat-3"]
    ]
    assert (staff[2].wards, staff[2].topics) == (frozenset(), frozenset())  # residents only
    assert [m.person.id for m in residents] == [follower.id, newcomer.id]
    linked = residents[0]
    assert [(i.channel, i.chat_id) for i in linked.identities] == [
        ("zalo", "zchat-5"), ("telegram", "chat-6")
    ]
    assert (linked.wards, linked.topics) == (frozenset({"w01"}), frozenset({"env", "traffic"}))
    assert residents[1].identities == ()


async def test_a_blocked_identity_is_left_out_until_the_person_writes_again(
    any_uow_factory: UnitOfWorkFactory,
) -> None:
    async with any_uow_factory() as uow:
        lan = await person(uow, "1")
        other = await person(uow, "2")
        await uow.people.add("Zalo", Role.RESIDENT, None, NOW, ("zalo", "z1", "zchat"))
        await uow.people.move_identity("zalo", "z1", lan.id)
        blocked = await uow.outbox.add("telegram", "chat-1", Reply("x"), NOW)
        await uow.outbox.add("telegram", "chat-2", Reply("y"), NOW)
        await uow.outbox.mark_blocked(blocked.id, NOW, "Forbidden: bot was blocked by the user")
        await uow.commit()

    def channels(members: Any) -> dict[int, list[str]]:
        return {m.person.id: [i.channel for i in m.identities] for m in members}

    async with any_uow_factory() as uow:
        assert channels(await uow.broadcasts.members([Role.COLLABORATOR])) == {
            lan.id: ["zalo"], other.id: ["telegram"]
        }
        assert [i.id for i in await uow.outbox.failed(5)] == [blocked.id]
        assert [i.chat_id for i in await uow.outbox.pending(5)] == ["chat-2"]
        assert [i.channel for i in await uow.people.identities(lan.id)] == ["telegram", "zalo"]
        for _ in range(2):  # the second time: harmless when reachable
            heard = await uow.people.heard_from("telegram", "1")
            assert heard is not None and heard.id == lan.id
        assert await uow.people.heard_from("telegram", "nobody") is None
        await uow.commit()

    async with any_uow_factory() as uow:
        assert channels(await uow.broadcasts.members([Role.COLLABORATOR])) == {
            lan.id: ["telegram", "zalo"], other.id: ["telegram"]
        }


async def test_ten_thousand_copies_in_bulk(database: Database) -> None:
    async with database.engine.begin() as connection:
        await connection.execute(insert(PersonRow), [
            {"display_name": f"R{n}", "role": "resident", "unit_code": None, "created_at": NOW}
            for n in range(10_000)
        ])
        person_ids = (await connection.execute(select(PersonRow.id))).scalars().all()
        await connection.execute(insert(ChannelIdentityRow), [
            {"channel": "zalo", "external_id": f"z{p}", "chat_id": f"c{p}", "person_id": p}
            for p in person_ids
        ])
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    async with database.unit_of_work() as uow:
        author = await uow.people.add("Board", Role.BOARD, None, NOW, ("telegram", "b", "b"))
        conversation = await uow.outbox.add("telegram", "b", Reply("hi"), NOW)
        broadcast = await uow.broadcasts.add(new_broadcast(author.id, 1))
        assert broadcast.id is not None
        event.listen(database.unit_engine, "before_cursor_execute", count)
        try:
            members = await uow.broadcasts.members([Role.RESIDENT, Role.COLLABORATOR])
        finally:
            event.remove(database.unit_engine, "before_cursor_execute", count)
        assert len(statements) == 3  # people, identities, subscriptions: not one per person
        assert len(members) == 10_000
        copies = [
            (Recipient(m.person.id, "zalo", m.identities[0].chat_id, False), Reply("Định hướng"))
            for m in members
        ]
        started = time.perf_counter()
        assert await uow.broadcasts.add_copies(broadcast.id, copies, NOW) == 10_000
        elapsed = time.perf_counter() - started
        notification = await uow.outbox.add("telegram", "b", Reply("n"), NOW, Priority.NOTIFICATION)
        await uow.commit()
    assert elapsed < 2, elapsed

    async with database.unit_of_work() as uow:
        pending = await uow.outbox.pending(20_000)
        counts = await uow.broadcasts.counts(broadcast.id)
        waiting = await uow.broadcasts.pending_copies(person_ids[-1])
        mismatched = (await uow.connection.execute(
            select(func.count()).select_from(BroadcastCopyRow)
            .join(OutboxRow, OutboxRow.id == BroadcastCopyRow.outbox_id)
            .where(OutboxRow.chat_id != BroadcastCopyRow.chat_id)
        )).scalar_one()
    assert mismatched == 0  # every copy row points at its own recipient's outbox row
    assert [i.id for i in pending[:2]] == [conversation.id, notification.id]
    sent_to = [i.chat_id for i in pending[2:]]
    assert sent_to == [f"c{p}" for p in sorted(person_ids)]
    assert [i.id for i in pending[2:]] == sorted(i.id for i in pending[2:])
    assert counts == DeliveryCounts(recipients=10_000, pending=10_000)
    assert [(c.outbox_id, c.broadcast.code) for c in waiting] == [
        (pending[-1].id, "DH-2026-000001")
    ]
