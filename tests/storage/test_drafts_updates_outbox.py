"""Drafts, processed updates and the outbox."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from domain.messages import Choice, OutboxStatus, Priority, Reply
from domain.ports import Draft, UnitOfWorkFactory
from storage.database import Database
from tests.storage.builders import NOW, committed_person


async def test_draft_save_get_update_delete(any_uow_factory: UnitOfWorkFactory) -> None:
    person = await committed_person(any_uow_factory)
    data = {"ward": "w01", "photos": ["a" * 64], "location": {"lat": 21.0, "lon": 105.8},
            "note": "Đường ngập", "count": 2, "flag": None}
    draft = Draft(person.id, "report", "photos", data, 1, NOW, NOW)
    async with any_uow_factory() as uow:
        assert await uow.drafts.get(person.id) is None
        await uow.drafts.save(draft)
        await uow.commit()

    async with any_uow_factory() as uow:
        loaded = await uow.drafts.get(person.id)
    assert loaded == draft

    later = NOW + timedelta(minutes=3)
    changed = Draft(person.id, "report", "confirm", {"ward": "w02"}, 2, NOW, later)
    async with any_uow_factory() as uow:
        await uow.drafts.save(changed)
        await uow.commit()
    async with any_uow_factory() as uow:
        assert await uow.drafts.get(person.id) == changed
        await uow.drafts.delete(person.id)
        await uow.drafts.delete(person.id)  # deleting twice is harmless
        await uow.commit()
    async with any_uow_factory() as uow:
        assert await uow.drafts.get(person.id) is None


async def test_draft_returned_is_a_copy(any_uow_factory: UnitOfWorkFactory) -> None:
    person = await committed_person(any_uow_factory)
    async with any_uow_factory() as uow:
        await uow.drafts.save(Draft(person.id, "report", "ward", {"items": [1]}, 1, NOW, NOW))
        loaded = await uow.drafts.get(person.id)
        assert loaded is not None
        loaded.data["items"].append(2)
        again = await uow.drafts.get(person.id)
    assert again is not None and again.data == {"items": [1]}


async def test_update_is_recorded_once(any_uow_factory: UnitOfWorkFactory) -> None:
    async with any_uow_factory() as uow:
        assert await uow.updates.record("telegram", "501", NOW) is True
        assert await uow.updates.record("telegram", "501", NOW) is False
        assert await uow.updates.record("zalo", "501", NOW) is True
        await uow.commit()
    async with any_uow_factory() as uow:
        assert await uow.updates.record("telegram", "501", NOW) is False
        assert await uow.updates.record("telegram", "502", NOW) is True


async def test_rolled_back_update_can_be_recorded_again(
    any_uow_factory: UnitOfWorkFactory,
) -> None:
    async with any_uow_factory() as uow:
        assert await uow.updates.record("telegram", "9", NOW) is True
        await uow.rollback()
    async with any_uow_factory() as uow:
        assert await uow.updates.record("telegram", "9", NOW) is True


async def test_concurrent_deliveries_of_one_update(database: Database) -> None:
    """Two transactions record the same update at once: exactly one sees it as new."""

    async def deliver() -> bool:
        async with database.unit_of_work() as uow:
            fresh = await uow.updates.record("telegram", "777", NOW)
            await asyncio.sleep(0.1)  # the other delivery runs into our uncommitted row
            await uow.commit()
            return fresh

    results = await asyncio.gather(deliver(), deliver())
    assert sorted(results) == [False, True]


async def test_outbox_add_pending_and_mark(any_uow_factory: UnitOfWorkFactory) -> None:
    reply = Reply("Chọn phường", (Choice("ward:w01", "Phường 1"),), True, ("f" * 64,))
    async with any_uow_factory() as uow:
        for n in range(4):
            await uow.outbox.add("telegram", f"chat-{n}", reply, NOW + timedelta(seconds=n))
        await uow.commit()

    async with any_uow_factory() as uow:
        pending = await uow.outbox.pending(10)
        assert [i.chat_id for i in pending] == ["chat-0", "chat-1", "chat-2", "chat-3"]
        first, second, third = pending[0], pending[1], pending[2]
        assert first.reply == reply and first.status is OutboxStatus.PENDING
        assert (first.attempts, first.created_at, first.next_attempt_at) == (0, NOW, NOW)
        await uow.outbox.mark_sent(first.id, NOW + timedelta(seconds=5))
        await uow.outbox.mark_retry(second.id, 1, NOW + timedelta(minutes=1), "HTTP 502")
        await uow.outbox.mark_failed(third.id, NOW, "bot was blocked by the user")
        await uow.commit()

    async with any_uow_factory() as uow:
        pending = await uow.outbox.pending(10)
        limited = await uow.outbox.pending(1)
        everything = {i.id: i for i in await uow.outbox.all()}
    assert [i.chat_id for i in pending] == ["chat-1", "chat-3"]
    assert [i.chat_id for i in limited] == ["chat-1"]
    assert everything[first.id].status is OutboxStatus.SENT
    assert everything[first.id].sent_at == NOW + timedelta(seconds=5)
    retried = everything[second.id]
    assert retried.status is OutboxStatus.PENDING
    assert (retried.attempts, retried.last_error) == (1, "HTTP 502")
    assert retried.next_attempt_at == NOW + timedelta(minutes=1)
    failed = everything[third.id]
    assert failed.status is OutboxStatus.FAILED and failed.sent_at is None
    assert failed.last_error == "bot was blocked by the user"


async def test_outbox_pending_by_priority_then_id(database: Database) -> None:
    """SQL only: the in-memory fake orders pending items by id alone."""
    reply = Reply("x")
    order = [Priority.BROADCAST, Priority.CONVERSATION, Priority.NOTIFICATION,
             Priority.CONVERSATION, Priority.BROADCAST]
    async with database.unit_of_work() as uow:
        for n, priority in enumerate(order):
            await uow.outbox.add("zalo", f"c{n}", reply, NOW, priority=priority)
        await uow.commit()
    async with database.unit_of_work() as uow:
        pending = await uow.outbox.pending(10)
    assert [i.chat_id for i in pending] == ["c1", "c3", "c2", "c0", "c4"]
    assert [i.priority for i in pending] == [0, 0, 5, 10, 10]


async def test_outbox_failed_lists_given_up_messages_newest_first(
    any_uow_factory: UnitOfWorkFactory,
) -> None:
    async with any_uow_factory() as uow:
        items = [await uow.outbox.add("telegram", str(n), Reply(f"m{n}"), NOW) for n in range(3)]
        await uow.commit()
    async with any_uow_factory() as uow:
        await uow.outbox.mark_failed(items[0].id, NOW, "blocked")
        await uow.outbox.mark_failed(items[2].id, NOW, "chat not found")
        await uow.outbox.mark_sent(items[1].id, NOW)
        await uow.commit()
    async with any_uow_factory() as uow:
        failed = await uow.outbox.failed(10)
        assert [(i.reply.text, i.last_error) for i in failed] == [
            ("m2", "chat not found"), ("m0", "blocked"),
        ]
        assert [i.id for i in await uow.outbox.failed(1)] == [items[2].id]


async def test_outbox_mark_sent_many(any_uow_factory: UnitOfWorkFactory) -> None:
    async with any_uow_factory() as uow:
        items = [await uow.outbox.add("telegram", str(n), Reply(f"m{n}"), NOW) for n in range(3)]
        await uow.commit()
    async with any_uow_factory() as uow:
        await uow.outbox.mark_sent_many([items[0].id, items[2].id], NOW)
        await uow.commit()
    async with any_uow_factory() as uow:
        assert [i.reply.text for i in await uow.outbox.pending(10)] == ["m1"]
        sent = [i for i in await uow.outbox.all() if i.status is OutboxStatus.SENT]
        assert {i.id for i in sent} == {items[0].id, items[2].id}
        assert all(i.sent_at == NOW for i in sent)


async def test_outbox_pending_of_some_channels(any_uow_factory: UnitOfWorkFactory) -> None:
    async with any_uow_factory() as uow:
        await uow.outbox.add("console", "c", Reply("here only"), NOW)
        await uow.outbox.add("telegram", "t", Reply("to telegram"), NOW)
        await uow.outbox.add("zalo", "z", Reply("to zalo"), NOW)
        await uow.commit()
    async with any_uow_factory() as uow:
        texts = [i.reply.text for i in await uow.outbox.pending(10, {"telegram", "zalo"})]
        assert texts == ["to telegram", "to zalo"]
        assert len(await uow.outbox.pending(10)) == 3
