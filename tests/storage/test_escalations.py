"""The escalation repository on the in-memory fake, SQLite and PostgreSQL; two sweeps at once."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from domain.clock import FixedClock
from domain.people import Role
from domain.ports import Draft, DueCase, UnitOfWork, UnitOfWorkFactory
from domain.reports import MediaKind, ReportEvent, ReportStatus, StoredMedia
from handlers.admin import create_invitations
from handlers.sweeps import Sweeper
from storage.database import Database
from storage.repositories import escalations
from tests.conversation_harness import services, small_org
from tests.db_fixtures import truncate_all
from tests.storage.builders import NOW, add_person, media, new_report

HOUR = timedelta(hours=1)


async def add_case(
    factory: UnitOfWorkFactory, number: int, status: ReportStatus, deadline_in: timedelta,
    reporter: int, assigned: bool = True, items: list[StoredMedia] | None = None,
) -> int:
    async with factory() as uow:
        report = replace(
            new_report(reporter, number, status=status, assigned_unit_code="bo-de", items=items),
            answer_deadline=NOW + deadline_in if assigned else None,
            acknowledged_at=NOW if assigned else None,
        )
        stored = await uow.reports.add(report)
        assert stored.id is not None
        if assigned:
            await uow.reports.add_event(ReportEvent(
                stored.id, NOW - HOUR, None, Role.BOARD, ReportStatus.SUBMITTED,
                ReportStatus.ASSIGNED,
            ))
        await uow.commit()
    return stored.id


async def unit_due(uow: UnitOfWork, until: datetime) -> list[DueCase]:
    """The assigned cases the sweep reads at `until`, whole."""
    return await uow.escalations.due_cases(
        await uow.escalations.unit_clocks(until, "leader", 10)
    )


async def unacknowledged_due(uow: UnitOfWork, until: datetime) -> list[DueCase]:
    return await uow.escalations.due_cases(
        await uow.escalations.unacknowledged_clocks(until, "ack_leader", 10)
    )


async def reporter(factory: UnitOfWorkFactory) -> int:
    async with factory() as uow:
        person = await add_person(uow)
        await uow.commit()
    return person.id


async def test_due_unit_cases_through_their_deadline_and_steps(
    any_uow_factory: UnitOfWorkFactory,
) -> None:
    factory = any_uow_factory
    lan = await reporter(factory)
    late = await add_case(factory, 1, ReportStatus.IN_PROGRESS, -HOUR, lan)
    soon = await add_case(factory, 2, ReportStatus.ASSIGNED, HOUR, lan)
    await add_case(factory, 3, ReportStatus.ASSIGNED, 30 * 24 * HOUR, lan)  # far away
    await add_case(factory, 4, ReportStatus.ANSWERED, -HOUR, lan)  # not the unit's turn
    async with factory() as uow:
        due = await unit_due(uow, NOW + 2 * HOUR)
        assert [c.report.id for c in due] == [late, soon]
        assert all(c.clock == (c.report.id, c.report.answer_deadline, NOW - HOUR, frozenset())
                   for c in due)
        deadline = NOW - HOUR
        assert await uow.escalations.record_step(late, "deadline", deadline, NOW)
        assert not await uow.escalations.record_step(late, "deadline", deadline, NOW)
        assert await uow.escalations.record_step(late, "deadline", deadline + HOUR, NOW)
        await uow.commit()
    async with factory() as uow:
        [first, _] = await unit_due(uow, NOW + 2 * HOUR)
        # the other deadline's step is not its
        assert first.clock.fired == frozenset({"deadline"})
        assert await uow.escalations.record_step(late, "leader", deadline, NOW)
        await uow.commit()
    async with factory() as uow:  # a case that took its last step is not read again
        due = await unit_due(uow, NOW + 2 * HOUR)
        assert [c.report.id for c in due] == [soon]


async def test_due_cases_come_with_their_number_of_photos_not_their_media(
    any_uow_factory: UnitOfWorkFactory,
) -> None:
    factory = any_uow_factory
    lan = await reporter(factory)
    items = [media("a"), media("b"), media("c", MediaKind.VOICE), media("d")]
    await add_case(factory, 1, ReportStatus.ASSIGNED, -HOUR, lan, items=items)
    await add_case(factory, 2, ReportStatus.SUBMITTED, -HOUR, lan, assigned=False, items=items)
    await add_case(factory, 3, ReportStatus.ASSIGNED, -HOUR, lan)
    async with factory() as uow:
        unit = await unit_due(uow, NOW)
        [waiting] = await unacknowledged_due(uow, NOW + 4 * HOUR)
    assert [(c.report.code[-1], c.photos, c.report.media) for c in unit] == [
        ("1", 3, []), ("3", 0, []),
    ]
    assert (waiting.photos, waiting.report.media) == (3, [])


async def test_whole_cases_are_read_for_the_clocks_asked_in_their_order(
    any_uow_factory: UnitOfWorkFactory, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(escalations, "_IDS_PER_READ", 2)  # three clocks: read in two chunks
    factory = any_uow_factory
    lan = await reporter(factory)
    first = await add_case(factory, 1, ReportStatus.ASSIGNED, -HOUR, lan)
    second = await add_case(factory, 2, ReportStatus.ASSIGNED, HOUR, lan)
    async with factory() as uow:
        clocks = await uow.escalations.unit_clocks(NOW + 2 * HOUR, "leader", 10)
        assert [c.report_id for c in clocks] == [first, second]
        gone = clocks[0]._replace(report_id=10**9)
        cases = await uow.escalations.due_cases([clocks[1], gone, clocks[0]])
        assert await uow.escalations.due_cases([]) == []
    assert [(c.report.id, c.report.code[-1], c.clock) for c in cases] == [
        (second, "2", clocks[1]), (first, "1", clocks[0]),
    ]


async def test_the_units_clock_starts_again_when_its_answer_is_sent_back(
    any_uow_factory: UnitOfWorkFactory,
) -> None:
    factory = any_uow_factory
    lan = await reporter(factory)
    case = await add_case(factory, 1, ReportStatus.IN_PROGRESS, HOUR, lan)  # assigned NOW - 1h
    async with factory() as uow:
        for at, before, after in (
            (NOW, ReportStatus.ASSIGNED, ReportStatus.ANSWERED),
            (NOW + HOUR, ReportStatus.ANSWERED, ReportStatus.IN_PROGRESS),  # sent back
            (NOW + 2 * HOUR, ReportStatus.IN_PROGRESS, ReportStatus.IN_PROGRESS),  # a note
        ):
            await uow.reports.add_event(ReportEvent(case, at, None, Role.BOARD, before, after))
        await uow.commit()
    async with factory() as uow:
        [due] = await unit_due(uow, NOW + 2 * HOUR)
    assert due.clock.assigned_at == NOW + HOUR


async def test_the_steps_taken_for_some_cases(any_uow_factory: UnitOfWorkFactory) -> None:
    factory = any_uow_factory
    lan = await reporter(factory)
    first = await add_case(factory, 1, ReportStatus.ASSIGNED, -HOUR, lan)
    second = await add_case(factory, 2, ReportStatus.ASSIGNED, -HOUR, lan)
    async with factory() as uow:
        for case, step in ((first, "reminder"), (first, "deadline"), (second, "reminder")):
            assert await uow.escalations.record_step(case, step, NOW - HOUR, NOW)
        await uow.commit()
    async with factory() as uow:
        taken = await uow.escalations.steps_taken([first])
        assert await uow.escalations.steps_taken([]) == []
    assert sorted((k.report_id, k.step, k.deadline_at) for k in taken) == [
        (first, "deadline", NOW - HOUR), (first, "reminder", NOW - HOUR),
    ]


async def test_forgetting_the_steps_of_one_deadline(any_uow_factory: UnitOfWorkFactory) -> None:
    factory = any_uow_factory
    lan = await reporter(factory)
    case = await add_case(factory, 1, ReportStatus.ASSIGNED, -HOUR, lan)
    other = await add_case(factory, 2, ReportStatus.ASSIGNED, -HOUR, lan)
    async with factory() as uow:
        for report, step, deadline in ((case, "reminder", NOW - HOUR),
                                       (case, "deadline", NOW - HOUR),
                                       (case, "reminder", NOW), (other, "reminder", NOW - HOUR)):
            assert await uow.escalations.record_step(report, step, deadline, NOW)
        await uow.escalations.forget_steps(case, NOW - HOUR)
        await uow.commit()
    async with factory() as uow:
        left = await uow.escalations.steps_taken([case, other])
    assert sorted((k.report_id, k.step, k.deadline_at) for k in left) == [
        (case, "reminder", NOW), (other, "reminder", NOW - HOUR),
    ]


async def test_unacknowledged_reports(any_uow_factory: UnitOfWorkFactory) -> None:
    factory = any_uow_factory
    lan = await reporter(factory)
    waiting = await add_case(factory, 1, ReportStatus.SUBMITTED, HOUR, lan, assigned=False)
    await add_case(factory, 2, ReportStatus.ASSIGNED, HOUR, lan)
    async with factory() as uow:
        assert await unacknowledged_due(uow, NOW) == []
        [due] = await unacknowledged_due(uow, NOW + 4 * HOUR)
        assert (due.report.id, due.clock.assigned_at) == (waiting, None)


async def test_stale_drafts_and_conditional_writes(any_uow_factory: UnitOfWorkFactory) -> None:
    factory = any_uow_factory
    async with factory() as uow:
        people = [await add_person(uow, str(n)) for n in range(3)]
        for n, person in enumerate(people):
            flow = "assign" if n == 2 else "report"
            at = NOW - n * HOUR
            await uow.drafts.save(Draft(person.id, flow, "category", {"n": n}, 1, at, at))
        await uow.commit()
    async with factory() as uow:
        stale = await uow.escalations.stale_drafts("report", NOW - HOUR / 2, 10)
        assert [d.person_id for d in stale] == [people[1].id]
        draft = stale[0]
        draft.data["reminded_at"] = NOW.isoformat()
        assert await uow.escalations.save_draft_if(replace(draft, revision=2), 1)
        assert not await uow.escalations.save_draft_if(replace(draft, revision=3), 1)
        await uow.commit()
    async with factory() as uow:
        saved = await uow.drafts.get(people[1].id)
        assert saved is not None and saved.revision == 2 and "reminded_at" in saved.data
        assert saved.updated_at == NOW - HOUR
        assert not await uow.escalations.delete_draft_if(people[1].id, 1)
        assert await uow.escalations.delete_draft_if(people[1].id, 2)
        await uow.commit()
    async with factory() as uow:
        assert await uow.drafts.get(people[1].id) is None


async def test_heads_and_leaders_are_kept(any_uow_factory: UnitOfWorkFactory) -> None:
    async with any_uow_factory() as uow:
        [invite] = await create_invitations(
            uow, small_org(), Role.HANDLER, "bo-de", 1, NOW, lead=True
        )
        person = await add_person(uow, "head", Role.HANDLER, "bo-de")
        await uow.people.set_lead(person.id, True)
        await uow.commit()
    async with any_uow_factory() as uow:
        stored = await uow.invitations.get(invite.code)
        assert stored is not None and stored.lead
        [head] = await uow.people.with_role(Role.HANDLER, "bo-de")
        assert head.lead


# --- two schedulers at once on PostgreSQL ------------------------------------------------------

@pytest.fixture
async def two_processes(postgres_database_url: str) -> AsyncIterator[tuple[Database, Database]]:
    first, second = Database.connect(postgres_database_url), Database.connect(postgres_database_url)
    try:
        await truncate_all(first)
        yield first, second
    finally:
        await first.dispose()
        await second.dispose()


@pytest.mark.postgres
async def test_two_sweeps_at_once_send_nothing_twice(
    two_processes: tuple[Database, Database],
) -> None:
    first, second = two_processes
    factory = first.unit_of_work
    async with factory() as uow:
        lan = await add_person(uow, "lan")
        for n, role in enumerate([Role.HANDLER, Role.HANDLER, Role.BOARD, Role.BOARD]):
            unit = "bo-de" if role is Role.HANDLER else None
            staff = await add_person(uow, f"s{n}", role, unit)
            await uow.people.set_lead(staff.id, n in (1, 3))
        await uow.commit()
    for number in range(1, 41):
        await add_case(factory, number, ReportStatus.ASSIGNED, -10 * 24 * HOUR, lan.id)
    clock = FixedClock(NOW)
    sweepers = [
        Sweeper(db.unit_of_work, services(clock)) for db in (first, second) for _ in range(2)
    ]
    results = await asyncio.gather(*(s.run_once() for s in sweepers))
    steps = Counter(step for result in results for step in result.steps)
    # Assigned after its (back-dated) deadline: no reminder; deadline, board and leader.
    assert len(steps) == 40 * 3 and set(steps.values()) == {1}
    async with factory() as uow:
        outbox = await uow.outbox.all()
    per_chat = Counter(item.chat_id for item in outbox)
    # 40 cases: deadline to s0 and the head s1; board to s2; leader to s3.
    assert per_chat == {"s0": 40, "s1": 40, "s2": 40, "s3": 40}
    assert sum(r.queued for r in results) == len(outbox)
