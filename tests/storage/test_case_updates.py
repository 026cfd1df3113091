"""The case lifecycle fields of a report, `update_if` (conditional, race-safe) and `with_status`."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import event

from domain.ports import UnitOfWorkFactory
from domain.reports import CaseUpdate, Report, ReportStatus
from storage.database import Database
from tests.storage.builders import NOW, committed_person, media, new_report

HANOI = timezone(timedelta(hours=7))
S = ReportStatus

ONLY_POSTGRES = pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)


async def _one_report(factory: UnitOfWorkFactory, **fields: Any) -> Report:
    reporter = await committed_person(factory)
    async with factory() as uow:
        stored = await uow.reports.add(replace(new_report(reporter.id, 1), **fields))
        await uow.commit()
    assert stored.id is not None
    return stored


async def _load(factory: UnitOfWorkFactory, code: str) -> Report:
    async with factory() as uow:
        loaded = await uow.reports.by_code(code)
    assert loaded is not None
    return loaded


# -- the new fields ---------------------------------------------------------------------------


async def test_new_report_has_no_lifecycle_fields(any_uow_factory: UnitOfWorkFactory) -> None:
    stored = await _one_report(any_uow_factory)
    loaded = await _load(any_uow_factory, stored.code)
    assert loaded == stored
    assert (loaded.acknowledged_at, loaded.assigned_unit_code, loaded.answer_deadline) == (
        None, None, None
    )
    assert (loaded.board_direct, loaded.duplicate_of, loaded.resolved_at) == (False, None, None)


async def test_lifecycle_fields_round_trip(any_uow_factory: UnitOfWorkFactory) -> None:
    local = NOW.astimezone(HANOI)
    stored = await _one_report(
        any_uow_factory, status=S.CLOSED, acknowledged_at=local + timedelta(minutes=5),
        assigned_unit_code="u-cong-an", answer_deadline=local + timedelta(days=3),
        board_direct=True, duplicate_of="PA-2026-000042", resolved_at=local + timedelta(days=1),
        media=[media("a")],
    )
    async with any_uow_factory() as uow:
        by_code = await uow.reports.by_code(stored.code)
        everything = await uow.reports.all()
        of_reporter = await uow.reports.for_reporter(stored.reporter_id)
        closed = await uow.reports.with_status([S.CLOSED])
    assert by_code == stored
    assert everything == of_reporter == closed == [stored]
    assert by_code is not None
    assert by_code.acknowledged_at == NOW + timedelta(minutes=5)  # same moment, other zone
    assert by_code.board_direct is True


# -- update_if ----------------------------------------------------------------------------------


async def test_update_if_applies_once(any_uow_factory: UnitOfWorkFactory) -> None:
    stored = await _one_report(any_uow_factory)
    assert stored.id is not None
    acknowledge = CaseUpdate(S.ACKNOWLEDGED, acknowledged_at=NOW + timedelta(hours=1))
    async with any_uow_factory() as uow:
        first = await uow.reports.update_if(stored.id, S.SUBMITTED, acknowledge)
        again = await uow.reports.update_if(stored.id, S.SUBMITTED, acknowledge)
        await uow.commit()
    assert (first, again) == (True, False)
    loaded = await _load(any_uow_factory, stored.code)
    assert loaded == replace(
        stored, status=S.ACKNOWLEDGED, acknowledged_at=NOW + timedelta(hours=1)
    )


async def test_update_if_refuses_another_status(any_uow_factory: UnitOfWorkFactory) -> None:
    stored = await _one_report(any_uow_factory)
    assert stored.id is not None
    assign = CaseUpdate(S.ASSIGNED, assigned_unit_code="u1", board_direct=True)
    async with any_uow_factory() as uow:
        wrong = await uow.reports.update_if(stored.id, S.ACKNOWLEDGED, assign)
        missing = await uow.reports.update_if(stored.id + 1000, S.SUBMITTED, assign)
        await uow.commit()
    assert (wrong, missing) == (False, False)
    assert await _load(any_uow_factory, stored.code) == stored


async def test_update_if_leaves_none_fields_alone(any_uow_factory: UnitOfWorkFactory) -> None:
    deadline = NOW + timedelta(days=3)
    stored = await _one_report(
        any_uow_factory, status=S.ASSIGNED, acknowledged_at=NOW, assigned_unit_code="u1",
        answer_deadline=deadline, board_direct=True, media=[media("a")],
    )
    assert stored.id is not None
    async with any_uow_factory() as uow:
        assert await uow.reports.update_if(stored.id, S.ASSIGNED, CaseUpdate(S.IN_PROGRESS))
        await uow.commit()
    in_progress = await _load(any_uow_factory, stored.code)
    assert in_progress == replace(stored, status=S.IN_PROGRESS)

    # False is a value, not "leave alone"; fields set before stay as they are.
    resolve = CaseUpdate(
        S.CLOSED, board_direct=False, resolved_at=NOW + timedelta(days=2),
        duplicate_of="PA-2026-000007",
    )
    async with any_uow_factory() as uow:
        assert await uow.reports.update_if(stored.id, S.IN_PROGRESS, resolve)
        await uow.commit()
    closed = await _load(any_uow_factory, stored.code)
    assert closed == replace(
        stored, status=S.CLOSED, board_direct=False, resolved_at=NOW + timedelta(days=2),
        duplicate_of="PA-2026-000007",
    )
    assert closed.media == [media("a")]


async def test_update_if_without_commit_is_undone(any_uow_factory: UnitOfWorkFactory) -> None:
    stored = await _one_report(any_uow_factory)
    assert stored.id is not None
    async with any_uow_factory() as uow:
        assert await uow.reports.update_if(
            stored.id, S.SUBMITTED, CaseUpdate(S.REJECTED, resolved_at=NOW)
        )
    assert await _load(any_uow_factory, stored.code) == stored


async def test_concurrent_update_if_has_one_winner(database: Database) -> None:
    """Ten units of work assign the same case at once (really in parallel on PostgreSQL)."""
    stored = await _one_report(database.unit_of_work)
    assert stored.id is not None
    report_id = stored.id

    async def assign(unit: str) -> bool:
        async with database.unit_of_work() as uow:
            await asyncio.sleep(0)  # let every contender open its transaction
            won = await uow.reports.update_if(
                report_id, S.SUBMITTED, CaseUpdate(S.ASSIGNED, assigned_unit_code=unit)
            )
            await asyncio.sleep(0.01)  # keep transactions overlapping
            await uow.commit()
            return won

    units = [f"u{n}" for n in range(10)]
    results = await asyncio.gather(*(assign(unit) for unit in units))
    assert results.count(True) == 1
    winner = units[results.index(True)]
    loaded = await _load(database.unit_of_work, stored.code)
    assert (loaded.status, loaded.assigned_unit_code) == (S.ASSIGNED, winner)


@ONLY_POSTGRES
@pytest.mark.parametrize("first_commits", [True, False], ids=["commit", "rollback"])
async def test_update_if_waits_for_the_other_transaction(
    database: Database, first_commits: bool
) -> None:
    """The second writer blocks on the row; it loses if the first commits, wins if it rolls
    back (the status is re-checked against the row as it is once the lock is free)."""
    stored = await _one_report(database.unit_of_work)
    assert stored.id is not None
    report_id = stored.id
    async with database.unit_of_work() as first, database.unit_of_work() as second:
        assert await first.reports.update_if(
            report_id, S.SUBMITTED, CaseUpdate(S.ASSIGNED, assigned_unit_code="first")
        )
        contender = asyncio.create_task(second.reports.update_if(
            report_id, S.SUBMITTED, CaseUpdate(S.ASSIGNED, assigned_unit_code="second")
        ))
        await asyncio.sleep(0.3)
        assert not contender.done()  # waiting for the row lock of `first`
        if first_commits:
            await first.commit()
        else:
            await first.rollback()
        second_won = await asyncio.wait_for(contender, 10)
        await second.commit()
    assert second_won is not first_commits
    loaded = await _load(database.unit_of_work, stored.code)
    assert loaded.assigned_unit_code == ("first" if first_commits else "second")


# -- with_status --------------------------------------------------------------------------------


async def test_with_status_filters_and_orders_oldest_first(
    any_uow_factory: UnitOfWorkFactory,
) -> None:
    reporter = await committed_person(any_uow_factory)
    hour = timedelta(hours=1)
    specs = [  # number, status, created_at, unit; added out of age order on purpose
        (1, S.ASSIGNED, NOW + 3 * hour, "u1"),
        (2, S.IN_PROGRESS, NOW + 1 * hour, "u1"),
        (3, S.ASSIGNED, NOW + 2 * hour, "u2"),
        (4, S.SUBMITTED, NOW, None),
        (5, S.ASSIGNED, NOW + 1 * hour, "u1"),  # same moment as 2: the id breaks the tie
        (6, S.CLOSED, NOW, "u1"),
    ]
    stored: dict[int, Report] = {}
    async with any_uow_factory() as uow:
        for number, status, created_at, unit in specs:
            stored[number] = await uow.reports.add(new_report(
                reporter.id, number, status=status, created_at=created_at,
                assigned_unit_code=unit, items=[media("a"), media(str(number))],
            ))
        await uow.commit()

    async with any_uow_factory() as uow:
        open_cases = await uow.reports.with_status({S.ASSIGNED, S.IN_PROGRESS})
        of_u1 = await uow.reports.with_status([S.ASSIGNED, S.IN_PROGRESS], unit_code="u1")
        submitted = await uow.reports.with_status((S.SUBMITTED,))
        of_nobody = await uow.reports.with_status([S.ASSIGNED], unit_code="u9")
        nothing = await uow.reports.with_status([])
    assert open_cases == [stored[2], stored[5], stored[3], stored[1]]
    assert of_u1 == [stored[2], stored[5], stored[1]]
    assert submitted == [stored[4]]
    assert of_nobody == nothing == []
    assert [m.sha256[0] for m in of_u1[0].media] == ["a", "2"]


async def test_with_status_reads_in_two_queries(database: Database) -> None:
    """One query for the reports, one for all their media, however many reports there are."""
    reporter = await committed_person(database.unit_of_work)
    async with database.unit_of_work() as uow:
        for number in range(1, 6):
            await uow.reports.add(new_report(
                reporter.id, number, status=S.ASSIGNED, assigned_unit_code="u1",
                items=[media(str(number))],
            ))
        await uow.commit()

    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    async with database.unit_of_work() as uow:
        await uow.reports.by_code("PA-2026-000001")  # connection set up; not counted
        event.listen(database.unit_engine, "before_cursor_execute", count)
        try:
            found = await uow.reports.with_status([S.ASSIGNED], unit_code="u1")
        finally:
            event.remove(database.unit_engine, "before_cursor_execute", count)
    assert [len(r.media) for r in found] == [1] * 5
    assert len(statements) == 2, statements


async def test_update_if_clears_the_assignment(any_uow_factory: UnitOfWorkFactory) -> None:
    stored = await _one_report(
        any_uow_factory, status=S.ASSIGNED, assigned_unit_code="bo-de",
        answer_deadline=NOW + timedelta(days=3),
    )
    assert stored.id is not None
    async with any_uow_factory() as uow:
        change = CaseUpdate(S.ACKNOWLEDGED, clear_assignment=True)
        assert await uow.reports.update_if(stored.id, S.ASSIGNED, change)
        await uow.commit()
    loaded = await _load(any_uow_factory, stored.code)
    assert (loaded.status, loaded.assigned_unit_code, loaded.answer_deadline) == (
        S.ACKNOWLEDGED, None, None,
    )
