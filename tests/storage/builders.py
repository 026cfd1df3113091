"""Small builders shared by the storage tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.people import Person, Role
from domain.ports import UnitOfWork, UnitOfWorkFactory
from domain.reports import (
    Location,
    MediaKind,
    Report,
    ReportStatus,
    StoredMedia,
    Urgency,
    report_code,
)

HOAN_KIEM = Location(21.0285, 105.8542)
NOW = datetime(2026, 3, 2, 8, 30, 15, 123456, tzinfo=UTC)


def media(char: str, kind: MediaKind = MediaKind.PHOTO, size: int = 10) -> StoredMedia:
    return StoredMedia(sha256=char * 64, kind=kind, mime="image/jpeg", size=size)


def new_report(
    reporter_id: int, number: int, *, year: int = 2026, items: list[StoredMedia] | None = None,
    location: Location | None = HOAN_KIEM, status: ReportStatus = ReportStatus.SUBMITTED,
    created_at: datetime = NOW, assigned_unit_code: str | None = None,
) -> Report:
    return Report(
        id=None, code=report_code(year, number), reporter_id=reporter_id,
        category_code="env", ward_code="w01", address="12 Hàng Bạc", location=location,
        description="Rác thải ùn ứ", urgency=Urgency.URGENT, status=status,
        created_at=created_at, acknowledge_deadline=created_at + timedelta(hours=4),
        channel="telegram", media=list(items or []), assigned_unit_code=assigned_unit_code,
    )


async def add_person(
    uow: UnitOfWork, external_id: str = "100", role: Role = Role.COLLABORATOR,
    unit_code: str | None = "u1",
) -> Person:
    return await uow.people.add(
        f"Person {external_id}", role, unit_code, NOW, ("telegram", external_id, external_id)
    )


async def committed_person(factory: UnitOfWorkFactory, external_id: str = "100") -> Person:
    async with factory() as uow:
        person = await add_person(uow, external_id)
        await uow.commit()
    return person
