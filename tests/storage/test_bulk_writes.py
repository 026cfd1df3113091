"""The bulk writes of the escalation sweep on the in-memory fake, SQLite and PostgreSQL: many
outbox rows, timeline events and ladder steps written in bulk."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text

from domain.messages import Choice, OutboxStatus, Reply
from domain.people import Role
from domain.ports import NewMessage, StepKey, UnitOfWorkFactory
from domain.reports import CaseUpdate, ReportEvent, ReportStatus
from storage.database import Database
from tests.db_fixtures import truncate_all
from tests.storage.builders import NOW, add_person, new_report

HOUR = timedelta(hours=1)
CARD = Reply(
    "⏰ PA-2026-000001", (Choice("c:answer:PA-2026-000001", "Trả lời"),), photos=("a" * 64,)
)


async def test_outbox_add_many_keeps_the_order_and_the_ids(
    any_uow_factory: UnitOfWorkFactory,
) -> None:
    messages = [
        NewMessage("telegram", f"chat{n % 3}", CARD if n % 2 else Reply(f"text {n}"), n % 4)
        for n in range(7)
    ]
    async with any_uow_factory() as uow:
        first = await uow.outbox.add("zalo", "z1", Reply("before"), NOW - HOUR)
        items = await uow.outbox.add_many(messages, NOW)
        assert await uow.outbox.add_many([], NOW) == []
        await uow.commit()
    assert [(i.channel, i.chat_id, i.reply, i.priority) for i in items] == [
        (m.channel, m.chat_id, m.reply, m.priority) for m in messages
    ]
    ids = [i.id for i in items]
    assert ids == sorted(ids) and len(set(ids)) == 7 and ids[0] > first.id
    assert all(
        (i.status, i.attempts, i.created_at, i.next_attempt_at)
        == (OutboxStatus.PENDING, 0, NOW, NOW)
        for i in items
    )
    async with any_uow_factory() as uow:
        stored = {i.id: i for i in await uow.outbox.all()}
    assert [stored[i.id].reply for i in items] == [m.reply for m in messages]
    assert [stored[i.id].priority for i in items] == [m.priority for m in messages]


async def test_outbox_add_many_is_rolled_back_with_its_transaction(
    any_uow_factory: UnitOfWorkFactory,
) -> None:
    async with any_uow_factory() as uow:
        await uow.outbox.add_many([NewMessage("telegram", "1", Reply("x"))], NOW)
    async with any_uow_factory() as uow:
        assert await uow.outbox.all() == []


async def _report_ids(
    factory: UnitOfWorkFactory, count: int, deadline: datetime = NOW
) -> list[int]:
    """Cases assigned to a unit and due at `deadline`."""
    async with factory() as uow:
        person = await add_person(uow)
        ids = []
        for number in range(1, count + 1):
            stored = await uow.reports.add(replace(
                new_report(person.id, number, status=ReportStatus.ASSIGNED,
                           assigned_unit_code="u1"),
                acknowledged_at=NOW - 2 * HOUR, answer_deadline=deadline,
            ))
            assert stored.id is not None
            ids.append(stored.id)
        await uow.commit()
    return ids


async def test_record_steps_returns_the_steps_taken_now(
    any_uow_factory: UnitOfWorkFactory,
) -> None:
    deadline = NOW - HOUR
    first, second = await _report_ids(any_uow_factory, 2, deadline)
    async with any_uow_factory() as uow:
        assert await uow.escalations.record_step(first, "deadline", deadline, NOW)
        await uow.commit()
    wanted = [
        StepKey(second, "reminder", deadline), StepKey(first, "deadline", deadline),
        StepKey(first, "reminder", deadline),
        StepKey(first, "deadline", deadline + HOUR),  # not the case's deadline: never taken
        StepKey(second, "reminder", deadline),  # twice in one call: taken once
    ]
    async with any_uow_factory() as uow:
        taken = await uow.escalations.record_steps(wanted, NOW)
        assert await uow.escalations.record_steps([], NOW) == set()
        await uow.commit()
    assert taken == {StepKey(second, "reminder", deadline), StepKey(first, "reminder", deadline)}
    async with any_uow_factory() as uow:
        assert await uow.escalations.record_steps(wanted, NOW) == set()
        assert not await uow.escalations.record_step(first, "reminder", deadline, NOW)
        clocks = await uow.escalations.unit_clocks(NOW, "leader", 10)
    assert [c.fired for c in clocks] == [
        frozenset({"deadline", "reminder"}), frozenset({"reminder"}),
    ]


async def test_a_step_is_not_taken_for_a_case_no_longer_waiting_on_that_deadline(
    any_uow_factory: UnitOfWorkFactory,
) -> None:
    """Read in one transaction, written in the next: an answer, an acknowledgement or a new
    deadline committed in between means nobody is told the case is late."""
    answered, extended, waiting = await _report_ids(any_uow_factory, 3)
    async with any_uow_factory() as uow:
        await uow.reports.update_if(answered, ReportStatus.ASSIGNED,
                                    CaseUpdate(ReportStatus.ANSWERED))
        await uow.reports.update_if(extended, ReportStatus.ASSIGNED,
                                    CaseUpdate(ReportStatus.ASSIGNED, answer_deadline=NOW + HOUR))
        await uow.commit()
    keys = [StepKey(i, "deadline", NOW) for i in (answered, extended, waiting)]
    async with any_uow_factory() as uow:
        taken = await uow.escalations.record_steps(keys, NOW)
    assert taken == {StepKey(waiting, "deadline", NOW)}


async def test_add_events_appends_them_in_order(any_uow_factory: UnitOfWorkFactory) -> None:
    [report_id] = await _report_ids(any_uow_factory, 1)
    status = ReportStatus.SUBMITTED
    events = [
        ReportEvent(report_id, NOW + n * HOUR, None, None, status, status, f"escalation:{n}")
        for n in range(3)
    ]
    async with any_uow_factory() as uow:
        await uow.reports.add_event(ReportEvent(
            report_id, NOW, 1, Role.BOARD, status, status, "first"
        ))
        await uow.reports.add_events(events)
        await uow.reports.add_events([])
        await uow.commit()
    async with any_uow_factory() as uow:
        stored = await uow.reports.events(report_id)
    assert [e.note for e in stored] == ["first", "escalation:0", "escalation:1", "escalation:2"]
    assert stored[1:] == events


@pytest.mark.postgres
async def test_overlapping_batches_of_steps_at_once_take_each_step_once(
    postgres_database_url: str,
) -> None:
    """Two transactions recording the same steps, given in opposite orders, at once: each step
    is taken by exactly one of them. (The repository inserts in one sorted order so that such
    transactions wait for each other rather than deadlock; timing rarely lets this test prove
    that part.)"""
    databases = [Database.connect(postgres_database_url) for _ in range(2)]
    try:
        await truncate_all(databases[0])
        ids = await _report_ids(databases[0].unit_of_work, 300)
        keys = [StepKey(i, step, NOW) for i in ids for step in ("reminder", "deadline")]

        async def record(database: Database, order: list[StepKey]) -> set[StepKey]:
            async with database.unit_of_work() as uow:
                taken = await uow.escalations.record_steps(order, NOW)
                await asyncio.sleep(0.05)  # hold the rows while the other one inserts
                await uow.commit()
            return taken

        first, second = await asyncio.gather(
            record(databases[0], keys), record(databases[1], list(reversed(keys)))
        )
        assert first.isdisjoint(second) and first | second == set(keys)
    finally:
        for database in databases:
            await database.dispose()


async def test_rows_written_in_bulk_are_stored_as_one_by_one(database: Database) -> None:
    """The bulk writes below SQLAlchemy (storage/repositories/bulk.py: the driver's executemany
    on SQLite, unnest() on PostgreSQL) store each column exactly as the one-row methods do:
    on SQLite the very text (moments compare as text), on PostgreSQL the same values."""
    late = NOW.astimezone(timezone(timedelta(hours=7)))  # stored in UTC either way
    [report_id, other_id] = await _report_ids(database.unit_of_work, 2)
    status = ReportStatus.ASSIGNED
    event = ReportEvent(report_id, late, 1, Role.BOARD, status, status, "ghi chú", ("ảnh",))
    async with database.unit_of_work() as uow:
        single = await uow.outbox.add("telegram", "7", CARD, late, priority=2)
        [bulk] = await uow.outbox.add_many([NewMessage("telegram", "7", CARD, 2)], late)
        await uow.reports.add_event(event)
        await uow.reports.add_events([event])
        assert await uow.escalations.record_step(report_id, "deadline", late, late)
        assert await uow.escalations.record_steps(
            [StepKey(other_id, "deadline", late)], late
        ) == {StepKey(other_id, "deadline", NOW)}
        await uow.commit()
    async with database.engine.connect() as connection:
        outbox = (await connection.execute(text(
            "SELECT channel, chat_id, payload, status, attempts, priority, next_attempt_at,"
            " created_at, sent_at, failed_at, last_error, blocked FROM outbox ORDER BY id"
        ))).all()
        events = (await connection.execute(text(
            "SELECT report_id, at, actor_id, actor_role, from_status, to_status, note, evidence"
            " FROM report_events WHERE note = 'ghi chú' ORDER BY id"
        ))).all()
        steps = (await connection.execute(text(
            "SELECT step, deadline_at, at FROM escalation_steps ORDER BY report_id"
        ))).all()
    assert len(outbox) == 2 and outbox[0] == outbox[1] and bulk.id == single.id + 1
    assert len(events) == 2 and events[0] == events[1]
    assert len(steps) == 2 and steps[0] == steps[1]
