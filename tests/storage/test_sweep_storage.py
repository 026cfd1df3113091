"""What the escalation sweep reads and writes in bulk, as it is stored: the reporters of a batch
in one read; outbox rows, events and steps whose shared values are converted once per distinct
value, stored exactly as written one by one."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta, timezone

from sqlalchemy import text

from domain.messages import Choice, Reply
from domain.ports import NewMessage, StepKey, UnitOfWorkFactory
from domain.reports import ReportEvent, ReportStatus
from storage.database import Database
from tests.storage.builders import NOW, add_person, new_report

CARD = Reply(
    "⏰ Phản ánh PA-2026-000001 quá hạn", (Choice("c:answer:PA-2026-000001", "Trả lời"),),
    photos=("a" * 64,), documents=(("b" * 64, "biên bản.pdf"),),
)


async def test_get_many_reads_the_people_of_the_ids_given(
    any_uow_factory: UnitOfWorkFactory,
) -> None:
    async with any_uow_factory() as uow:
        lan, minh, hoa = [await add_person(uow, external) for external in ("1", "2", "3")]
        await uow.commit()
    async with any_uow_factory() as uow:
        found = await uow.people.get_many([hoa.id, lan.id, hoa.id, 99_999])
        assert await uow.people.get_many([]) == {}
        expected = {p.id: await uow.people.get(p.id) for p in (lan, hoa)}
    assert found == expected
    assert minh.id not in found


async def test_add_many_stores_each_column_as_add_does(database: Database) -> None:
    """The payload and the moments of a bulk write are converted once for many rows: stored,
    they are the very values that a row written alone gets (compared as the database keeps
    them, not as read back through the column types)."""
    now = (NOW + timedelta(microseconds=7)).astimezone(timezone(timedelta(hours=7)))
    async with database.unit_of_work() as uow:
        alone = await uow.outbox.add("telegram", "1", CARD, now, priority=2)
        bulk = await uow.outbox.add_many(
            [NewMessage("telegram", "1", CARD, 2), NewMessage("zalo", "2", CARD, 2)], now
        )
        await uow.commit()
    raw = "SELECT id, payload, next_attempt_at, created_at, status, attempts FROM outbox"
    if database.is_postgres:  # the text of the moment and of the document, as stored
        raw = (
            "SELECT id, payload::text, next_attempt_at::text, created_at::text, status,"
            " attempts FROM outbox"
        )
    async with database.engine.connect() as connection:
        rows = {row[0]: tuple(row[1:]) for row in await connection.execute(text(raw))}
    assert rows[bulk[0].id] == rows[alone.id] == rows[bulk[1].id]
    async with database.unit_of_work() as uow:
        stored = {item.id: item for item in await uow.outbox.all()}
    assert [stored[i.id].reply for i in bulk] == [CARD, CARD]
    assert {stored[i.id].created_at for i in (alone, *bulk)} == {now}


async def test_bulk_events_and_steps_store_each_column_as_one_by_one(database: Database) -> None:
    now = (NOW + timedelta(microseconds=7)).astimezone(timezone(timedelta(hours=7)))
    deadline = NOW - timedelta(hours=1)
    status = ReportStatus.ASSIGNED
    async with database.unit_of_work() as uow:
        person = await add_person(uow)
        report = await uow.reports.add(replace(  # a case due at `deadline`
            new_report(person.id, 1, status=status, assigned_unit_code="u1"),
            acknowledged_at=NOW - timedelta(hours=2), answer_deadline=deadline,
        ))
        assert report.id is not None
        event = ReportEvent(report.id, now, None, None, status, status, "x", ("e" * 64,))
        await uow.reports.add_event(event)
        await uow.reports.add_events([event, replace(event, note="y"), replace(event, note="z")])
        assert await uow.escalations.record_step(report.id, "reminder", deadline, now)
        keys = [StepKey(report.id, step, deadline) for step in ("deadline", "board")]
        assert await uow.escalations.record_steps(keys, now) == set(keys)
        await uow.commit()
    cast = "::text" if database.is_postgres else ""
    async with database.engine.connect() as connection:
        events = (await connection.execute(text(
            f"SELECT at{cast}, evidence{cast} FROM report_events ORDER BY id"
        ))).all()
        steps = (await connection.execute(text(
            f"SELECT deadline_at{cast}, at{cast} FROM escalation_steps ORDER BY id"
        ))).all()
    assert len(events) == 4 and len(set(events)) == 1
    assert len(steps) == 3 and len(set(steps)) == 1
    async with database.unit_of_work() as uow:
        assert await uow.reports.events(report.id) == [
            event, event, replace(event, note="y"), replace(event, note="z")
        ]
