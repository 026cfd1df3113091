"""The broadcast part of the sweep over the in-memory store: launch when due, once; close when
every copy is settled, with the delivery report to the author."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from domain.broadcasts import Audience, AudienceKind, Broadcast, BroadcastStatus, Tier
from domain.clock import FixedClock
from domain.messages import OutboxItem, OutboxStatus, Priority
from domain.people import Role
from domain.ports import UnitOfWorkFactory
from handlers.sweeps import Sweeper
from storage.database import Database
from tests.conversation_harness import MONDAY_9AM, services
from tests.fakes.memory_uow import MemoryStore

SEND_AT = MONDAY_9AM + timedelta(hours=3)
SECOND = timedelta(seconds=1)
COLLABORATORS = Audience(AudienceKind.COLLABORATORS)


@pytest.fixture
def sweeper(store: MemoryStore, clock: FixedClock) -> Sweeper:
    return Sweeper(store, services(clock))


async def person(store: MemoryStore, name: str, role: Role, unit: str | None,
                 channel: str = "console") -> int:
    async with store() as uow:
        added = await uow.people.add(name, role, unit, MONDAY_9AM, (channel, name, name))
        await uow.commit()
    return added.id


@pytest.fixture
async def people(store: MemoryStore) -> dict[str, int]:
    return {
        "hung": await person(store, "hung", Role.BOARD, "btg"),
        "lan": await person(store, "lan", Role.COLLABORATOR, "bo-de"),
        "mai": await person(store, "mai", Role.COLLABORATOR, "gia-thuy", "zalo"),
        "minh": await person(store, "minh", Role.HANDLER, "bo-de"),
        "an": await person(store, "an", Role.RESIDENT, None),
    }


async def schedule(store: MemoryStore, author: int, audience: Audience = COLLABORATORS,
                   send_at: datetime = SEND_AT, text: str = "Lịch cắt điện tuần này") -> str:
    async with store() as uow:
        number = await uow.broadcasts.next_number(2026)
        stored = await uow.broadcasts.add(Broadcast(
            None, f"DH-2026-{number:06d}", author, text, None, audience,
            BroadcastStatus.SCHEDULED, MONDAY_9AM, send_at,
        ))
        await uow.commit()
    return stored.code


def copies(store: MemoryStore) -> dict[str, int]:
    """Broadcast copies queued per chat."""
    found: dict[str, int] = {}
    for item in store.state.outbox.values():
        if item.priority == Priority.BROADCAST:
            found[item.chat_id] = found.get(item.chat_id, 0) + 1
    return found


def texts_to(store: MemoryStore, chat: str) -> list[str]:
    items = sorted(store.state.outbox.values(), key=lambda i: i.id)
    return [i.reply.text for i in items if i.chat_id == chat]


def status(store: MemoryStore, code: str) -> BroadcastStatus:
    return next(b.status for b in store.state.broadcasts.values() if b.code == code)


def copy_of(store: MemoryStore, chat: str) -> int:
    return next(i.id for i in store.state.outbox.values()
                if i.chat_id == chat and i.priority == Priority.BROADCAST)


async def test_launched_at_its_time_not_a_second_before_and_only_once(
    store: MemoryStore, clock: FixedClock, sweeper: Sweeper, people: dict[str, int]
) -> None:
    code = await schedule(store, people["hung"])
    clock.set(SEND_AT - SECOND)
    assert (await sweeper.run_once()).broadcasts_launched == []
    assert copies(store) == {} and status(store, code) is BroadcastStatus.SCHEDULED

    clock.set(SEND_AT)
    assert (await sweeper.run_once()).broadcasts_launched == [(code, 2)]
    assert copies(store) == {"lan": 1, "mai": 1}
    assert status(store, code) is BroadcastStatus.SENDING
    clock.set(SEND_AT + timedelta(minutes=5))
    assert (await sweeper.run_once()).broadcasts_launched == []
    assert copies(store) == {"lan": 1, "mai": 1}
    started = next(b.started_at for b in store.state.broadcasts.values())
    assert started == SEND_AT


async def test_two_sweepers_one_after_the_other_and_at_once_launch_it_once(
    store: MemoryStore, clock: FixedClock, people: dict[str, int]
) -> None:
    first, second, third = (Sweeper(store, services(clock)) for _ in range(3))
    code = await schedule(store, people["hung"])
    clock.set(SEND_AT + SECOND)
    results = await asyncio.gather(first.run_once(), second.run_once())
    assert sorted(r.broadcasts_launched for r in results) == [[], [(code, 2)]]
    assert (await third.run_once()).broadcasts_launched == []
    assert copies(store) == {"lan": 1, "mai": 1}


async def test_due_while_the_service_was_down_fires_once_at_the_next_sweep(
    store: MemoryStore, clock: FixedClock, people: dict[str, int]
) -> None:
    code = await schedule(store, people["hung"])
    clock.set(SEND_AT + timedelta(days=3))  # down for three days
    restarted = Sweeper(store, services(clock))
    assert (await restarted.run_once()).broadcasts_launched == [(code, 2)]
    for minutes in (1, 2, 3):
        clock.set(SEND_AT + timedelta(days=3, minutes=minutes))
        assert (await restarted.run_once()).broadcasts_launched == []
    assert copies(store) == {"lan": 1, "mai": 1}


async def test_a_cancelled_broadcast_never_goes_out(
    store: MemoryStore, clock: FixedClock, sweeper: Sweeper, people: dict[str, int]
) -> None:
    code = await schedule(store, people["hung"])
    async with store() as uow:
        broadcast = await uow.broadcasts.by_code(code)
        assert broadcast is not None and broadcast.id is not None
        assert await uow.broadcasts.set_status_if(
            broadcast.id, BroadcastStatus.SCHEDULED, BroadcastStatus.CANCELLED, MONDAY_9AM
        )
        await uow.commit()
    for moment in (SEND_AT, SEND_AT + timedelta(days=1)):
        clock.set(moment)
        result = await sweeper.run_once()
        assert result.broadcasts_launched == [] and result.broadcasts_finished == []
    assert copies(store) == {} and texts_to(store, "hung") == []
    assert status(store, code) is BroadcastStatus.CANCELLED


async def test_later_broadcasts_wait_their_own_time(
    store: MemoryStore, clock: FixedClock, sweeper: Sweeper, people: dict[str, int]
) -> None:
    early = await schedule(store, people["hung"])
    late = await schedule(store, people["hung"], send_at=SEND_AT + timedelta(days=1))
    clock.set(SEND_AT)
    assert [c for c, _ in (await sweeper.run_once()).broadcasts_launched] == [early]
    clock.set(SEND_AT + timedelta(days=1))
    assert [c for c, _ in (await sweeper.run_once()).broadcasts_launched] == [late]
    assert copies(store) == {"lan": 2, "mai": 2}


async def test_audience_is_read_at_launch_an_unsubscribed_resident_gets_nothing(
    store: MemoryStore, clock: FixedClock, sweeper: Sweeper, people: dict[str, int]
) -> None:
    binh = await person(store, "binh", Role.RESIDENT, None)
    async with store() as uow:
        await uow.subscriptions.replace(people["an"], ["bo-de"], [], MONDAY_9AM)
        await uow.subscriptions.replace(binh, [], ["khac"], MONDAY_9AM)
        await uow.commit()
    audience = Audience(AudienceKind.RESIDENTS, wards=("bo-de",), topics=("khac",))
    code = await schedule(store, people["hung"], audience)
    async with store() as uow:  # after planning, before the broadcast's time: /huytheodoi
        await uow.subscriptions.clear(binh)
        await uow.commit()
    clock.set(SEND_AT)
    assert (await sweeper.run_once()).broadcasts_launched == [(code, 1)]
    assert copies(store) == {"an": 1}


async def settle(store: MemoryStore, chat: str, how: str) -> None:
    item_id = copy_of(store, chat)
    async with store() as uow:
        if how == "sent":
            await uow.outbox.mark_sent(item_id, SEND_AT)
        elif how == "claimed":
            assert await uow.outbox.claim([item_id]) == {item_id}
        elif how == "blocked":
            await uow.outbox.mark_blocked(item_id, SEND_AT, "Forbidden: bot was blocked")
        elif how == "failed":
            await uow.outbox.mark_failed(item_id, SEND_AT, "Bad Request: chat not found")
        elif how == "cancelled":
            assert await uow.outbox.cancel([item_id], SEND_AT, "opted out") == 1
        await uow.commit()


async def test_closed_only_when_no_copy_is_pending_or_being_sent_then_reported_once(
    store: MemoryStore, clock: FixedClock, people: dict[str, int]
) -> None:
    reports: list[OutboxItem] = []
    woken: list[int] = []
    sweeper = Sweeper(store, services(clock), on_commit=reports.extend,
                      wake=lambda: woken.append(1))
    for name in ("ha", "khoa", "linh"):
        await person(store, name, Role.COLLABORATOR, "viet-hung")
    # Everyone of the ward tier: lan, mai, ha, khoa, linh (collaborators) and minh (handler).
    code = await schedule(store, people["hung"], Audience(AudienceKind.TIER, tier=Tier.WARD))
    clock.set(SEND_AT)
    assert (await sweeper.run_once()).broadcasts_launched == [(code, 6)]
    assert woken == [1]
    await settle(store, "lan", "sent")
    await settle(store, "mai", "claimed")  # being sent right now
    await settle(store, "ha", "blocked")
    await settle(store, "khoa", "failed")
    await settle(store, "linh", "cancelled")
    async with store() as uow:
        assert await uow.broadcasts.relay(1, people["lan"], SEND_AT) is True
        await uow.commit()
    clock.set(SEND_AT + timedelta(minutes=1))
    assert (await sweeper.run_once()).broadcasts_finished == []  # minh's is pending
    await settle(store, "minh", "sent")
    assert (await sweeper.run_once()).broadcasts_finished == []  # mai's is in flight
    assert status(store, code) is BroadcastStatus.SENDING and texts_to(store, "hung") == []

    async with store() as uow:
        await uow.outbox.mark_sent(copy_of(store, "mai"), SEND_AT)
        await uow.commit()
    result = await sweeper.run_once()
    [(finished, counts)] = result.broadcasts_finished
    assert finished == code
    assert (counts.recipients, counts.delivered, counts.failed, counts.blocked,
            counts.skipped, counts.pending, counts.relayed) == (6, 3, 1, 1, 1, 0, 1)
    assert status(store, code) is BroadcastStatus.DONE
    [report] = texts_to(store, "hung")
    assert code in report
    for line in ("Người nhận: 6", "Đã nhận: 3", "Lỗi: 1", "Đã chặn bot: 1",
                 "Bỏ qua (đã hủy theo dõi): 1", "Đã phổ biến: 1"):
        assert line in report
    assert [i.chat_id for i in reports] == ["hung"]  # offered to the dispatcher at once
    for _ in range(3):
        clock.set(clock.now() + timedelta(minutes=1))
        assert (await sweeper.run_once()).broadcasts_finished == []
    assert len(texts_to(store, "hung")) == 1
    assert woken == [1]


async def test_a_broadcast_reaching_nobody_is_closed_at_once_with_its_report(
    store: MemoryStore, clock: FixedClock, sweeper: Sweeper, people: dict[str, int]
) -> None:
    code = await schedule(
        store, people["hung"], Audience(AudienceKind.RESIDENTS, wards=("viet-hung",))
    )
    clock.set(SEND_AT)
    result = await sweeper.run_once()
    assert result.broadcasts_launched == [(code, 0)]
    assert [(c, n.recipients) for c, n in result.broadcasts_finished] == [(code, 0)]
    assert "Người nhận: 0" in texts_to(store, "hung")[0]


async def test_the_report_goes_to_the_channel_the_author_chose(
    store: MemoryStore, clock: FixedClock, sweeper: Sweeper, people: dict[str, int]
) -> None:
    async with store() as uow:
        # He linked his Zalo account (/lienket) and chose it for notifications (/thongbao).
        await uow.people.add("hung-z", Role.RESIDENT, None, MONDAY_9AM, ("zalo", "hung-z", "hz"))
        await uow.people.move_identity("zalo", "hung-z", people["hung"])
        await uow.people.set_notify_channel(people["hung"], "zalo")
        await uow.commit()
    code = await schedule(store, people["hung"], Audience(AudienceKind.WARDS, wards=("x",)))
    clock.set(SEND_AT)
    await sweeper.run_once()
    reports = [i for i in store.state.outbox.values() if code in i.reply.text]
    assert [(i.channel, i.chat_id) for i in reports] == [("zalo", "hz")]
    assert all(i.status is OutboxStatus.PENDING for i in reports)


# --- on the real databases: four sweepers in two "processes" at once ---------------------------

@pytest.fixture
async def two_processes(
    database: Database, database_url: str
) -> AsyncIterator[tuple[Database, Database]]:
    second = Database.connect(database_url)
    try:
        yield database, second
    finally:
        await second.dispose()


async def test_four_sweepers_at_once_launch_and_close_each_broadcast_once(
    two_processes: tuple[Database, Database],
) -> None:
    first, second = two_processes
    factory = first.unit_of_work
    async with factory() as uow:
        hung = await uow.people.add("hung", Role.BOARD, "btg", MONDAY_9AM, ("console", "h", "h"))
        for n in range(30):
            await uow.people.add(f"c{n}", Role.COLLABORATOR, "bo-de", MONDAY_9AM,
                                 ("telegram", f"c{n}", f"c{n}"))
        await uow.commit()
    codes = [await schedule_in(factory, hung.id, n) for n in range(8)]
    clock = FixedClock(SEND_AT + SECOND)
    sweepers = [Sweeper(db.unit_of_work, services(clock)) for db in (first, second) * 2]

    results = await asyncio.gather(*(s.run_once() for s in sweepers))
    launched = sorted(launch for r in results for launch in r.broadcasts_launched)
    assert launched == [(code, 30) for code in codes]
    async with factory() as uow:
        outbox = await uow.outbox.all()
        assert Counter(i.chat_id for i in outbox) == {f"c{n}": 8 for n in range(30)}
        await uow.outbox.mark_sent_many([i.id for i in outbox], SEND_AT)
        await uow.commit()

    results = await asyncio.gather(*(s.run_once() for s in sweepers))
    finished = sorted(code for r in results for code, _ in r.broadcasts_finished)
    assert finished == codes
    async with factory() as uow:
        reports = [i for i in await uow.outbox.all() if i.chat_id == "h"]
    assert sorted(re.findall(r"DH-2026-\d{6}", i.reply.text)[0] for i in reports) == codes


async def schedule_in(factory: UnitOfWorkFactory, author: int, n: int) -> str:
    async with factory() as uow:
        stored = await uow.broadcasts.add(Broadcast(
            None, f"DH-2026-{n + 1:06d}", author, f"Thông tin số {n}", None, COLLABORATORS,
            BroadcastStatus.SCHEDULED, MONDAY_9AM, SEND_AT,
        ))
        await uow.commit()
    return stored.code


async def test_a_broadcast_reaches_people_only_on_channels_this_service_delivers_on(
    store: MemoryStore, clock: FixedClock, people: dict[str, int]
) -> None:
    """A copy on a channel nobody sends would stay pending, and the broadcast never closes."""
    on_zalo_only = Sweeper(store, replace(services(clock), channels=frozenset({"zalo"})))
    await schedule(store, people["hung"])
    clock.set(SEND_AT)
    await on_zalo_only.run_once()
    assert copies(store) == {"mai": 1}  # lan is on the console only
    for item in list(store.state.outbox.values()):
        if item.priority == Priority.BROADCAST:
            item.status = OutboxStatus.SENT
    await on_zalo_only.run_once()
    async with store() as uow:
        assert [b.status for b in await uow.broadcasts.all()] == [BroadcastStatus.DONE]
