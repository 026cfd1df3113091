"""Reports, numbers, media and the timeline."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from domain.people import Role
from domain.ports import UnitOfWorkFactory
from domain.reports import MediaKind, ReportEvent, ReportStatus
from storage.database import Database
from tests.storage.builders import NOW, committed_person, media, new_report


async def test_numbers_increase_per_year(any_uow_factory: UnitOfWorkFactory) -> None:
    async with any_uow_factory() as uow:
        taken = [await uow.reports.next_number(2026) for _ in range(3)]
        other_year = await uow.reports.next_number(2027)
        await uow.commit()
    async with any_uow_factory() as uow:
        after_commit = await uow.reports.next_number(2026)
    assert taken == [1, 2, 3]
    assert other_year == 1
    assert after_commit == 4


async def test_rolled_back_number_is_reused(any_uow_factory: UnitOfWorkFactory) -> None:
    async with any_uow_factory() as uow:
        assert await uow.reports.next_number(2026) == 1
    async with any_uow_factory() as uow:
        assert await uow.reports.next_number(2026) == 1


async def test_concurrent_numbers_are_distinct(database: Database) -> None:
    """Twenty units of work take a number at once (really in parallel on PostgreSQL)."""

    async def take() -> int:
        async with database.unit_of_work() as uow:
            number = await uow.reports.next_number(2026)
            await asyncio.sleep(0.01)  # keep transactions overlapping
            await uow.commit()
            return number

    numbers = await asyncio.gather(*(take() for _ in range(20)))
    assert sorted(numbers) == list(range(1, 21))


async def test_report_with_media_round_trip(any_uow_factory: UnitOfWorkFactory) -> None:
    reporter = await committed_person(any_uow_factory)
    items = [media("b"), media("a", MediaKind.VOICE, 99), media("c"), media("b")]
    async with any_uow_factory() as uow:
        stored = await uow.reports.add(new_report(reporter.id, 1, items=items))
        await uow.commit()

    assert stored.id is not None
    async with any_uow_factory() as uow:
        loaded = await uow.reports.by_code(stored.code)
    assert loaded == stored
    assert loaded is not None
    assert [m.sha256[0] for m in loaded.media] == ["b", "a", "c", "b"]
    assert loaded.media[1] == items[1]
    assert loaded.photo_count == 3
    assert loaded.location is not None and loaded.location.latitude == pytest.approx(21.0285)
    assert loaded.created_at == NOW


async def test_media_shared_between_reports(any_uow_factory: UnitOfWorkFactory) -> None:
    reporter = await committed_person(any_uow_factory)
    async with any_uow_factory() as uow:
        await uow.reports.add(new_report(reporter.id, 1, items=[media("d")]))
        await uow.reports.add(new_report(reporter.id, 2, items=[media("d"), media("e")]))
        await uow.commit()
    async with any_uow_factory() as uow:
        reports = await uow.reports.all()
    assert [[m.sha256[0] for m in r.media] for r in reports] == [["d"], ["d", "e"]]


async def test_report_without_media_or_location(any_uow_factory: UnitOfWorkFactory) -> None:
    reporter = await committed_person(any_uow_factory)
    async with any_uow_factory() as uow:
        stored = await uow.reports.add(new_report(reporter.id, 5, location=None))
        await uow.commit()
    async with any_uow_factory() as uow:
        loaded = await uow.reports.by_code("PA-2026-000005")
        missing = await uow.reports.by_code("PA-2026-000006")
    assert loaded == stored
    assert loaded is not None and loaded.location is None and loaded.media == []
    assert missing is None


async def test_for_reporter_and_all(any_uow_factory: UnitOfWorkFactory) -> None:
    alice = await committed_person(any_uow_factory, "1")
    bob = await committed_person(any_uow_factory, "2")
    async with any_uow_factory() as uow:
        a1 = await uow.reports.add(new_report(alice.id, 1, items=[media("a")]))
        b1 = await uow.reports.add(new_report(bob.id, 2, items=[media("b")]))
        a2 = await uow.reports.add(new_report(alice.id, 3))
        await uow.commit()
    async with any_uow_factory() as uow:
        of_alice = await uow.reports.for_reporter(alice.id)
        everything = await uow.reports.all()
    assert of_alice == [a1, a2]
    assert everything == [a1, b1, a2]


async def test_events_append_and_read_in_order(any_uow_factory: UnitOfWorkFactory) -> None:
    reporter = await committed_person(any_uow_factory)
    async with any_uow_factory() as uow:
        first = await uow.reports.add(new_report(reporter.id, 1))
        second = await uow.reports.add(new_report(reporter.id, 2))
        await uow.commit()
    assert first.id is not None and second.id is not None
    events = [
        ReportEvent(first.id, NOW, reporter.id, Role.COLLABORATOR, ReportStatus.DRAFT,
                    ReportStatus.SUBMITTED),
        ReportEvent(second.id, NOW, None, None, ReportStatus.DRAFT, ReportStatus.SUBMITTED),
        ReportEvent(first.id, NOW + timedelta(hours=1), reporter.id, Role.HANDLER,
                    ReportStatus.SUBMITTED, ReportStatus.ACKNOWLEDGED, "Đã nhận",
                    ("a" * 64, "b" * 64)),
        ReportEvent(first.id, NOW, None, None, ReportStatus.ACKNOWLEDGED, ReportStatus.CLOSED),
    ]
    async with any_uow_factory() as uow:
        for event in events:
            await uow.reports.add_event(event)
        await uow.commit()
    async with any_uow_factory() as uow:
        of_first = await uow.reports.events(first.id)
        of_second = await uow.reports.events(second.id)
    assert of_first == [events[0], events[2], events[3]]
    assert of_second == [events[1]]
