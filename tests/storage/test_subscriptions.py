"""What residents follow, on the in-memory fake, SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from domain.people import Role
from domain.ports import UnitOfWorkFactory
from tests.storage.builders import NOW

NOTHING: frozenset[str] = frozenset()


def codes(*given: str) -> frozenset[str]:
    return frozenset(given)


async def test_replace_read_and_clear_subscriptions(any_uow_factory: UnitOfWorkFactory) -> None:
    async with any_uow_factory() as uow:
        lan = await uow.people.add("Lan", Role.RESIDENT, None, NOW, ("zalo", "1", "1"))
        minh = await uow.people.add("Minh", Role.RESIDENT, None, NOW, ("zalo", "2", "2"))
        assert await uow.subscriptions.of(lan.id) == (NOTHING, NOTHING)
        # A ward and a category may share a code; a code given twice is followed once.
        await uow.subscriptions.replace(lan.id, ["w01", "w02", "w01"], ["env", "w01"], NOW)
        await uow.subscriptions.replace(minh.id, ["w03"], [], NOW)
        await uow.commit()

    async with any_uow_factory() as uow:
        assert await uow.subscriptions.of(lan.id) == (codes("w01", "w02"), codes("env", "w01"))
        await uow.subscriptions.replace(lan.id, ["w02"], ["traffic"], NOW + timedelta(hours=1))
        await uow.commit()

    async with any_uow_factory() as uow:
        assert await uow.subscriptions.of(lan.id) == (codes("w02"), codes("traffic"))
        assert await uow.subscriptions.of(minh.id) == (codes("w03"), NOTHING)
        members = {m.person.id: m for m in await uow.broadcasts.members([Role.RESIDENT])}
        assert (members[lan.id].wards, members[lan.id].topics) == (codes("w02"), codes("traffic"))
        assert await uow.subscriptions.clear(lan.id) == 2
        assert await uow.subscriptions.clear(lan.id) == 0
        await uow.subscriptions.replace(minh.id, [], [], NOW)  # following nothing any more
        await uow.commit()

    async with any_uow_factory() as uow:
        assert await uow.subscriptions.of(lan.id) == (NOTHING, NOTHING)
        assert await uow.subscriptions.of(minh.id) == (NOTHING, NOTHING)


async def test_an_uncommitted_replace_is_thrown_away(any_uow_factory: UnitOfWorkFactory) -> None:
    async with any_uow_factory() as uow:
        lan = await uow.people.add("Lan", Role.RESIDENT, None, NOW, ("zalo", "1", "1"))
        await uow.subscriptions.replace(lan.id, ["w01"], [], NOW)
        await uow.commit()
    async with any_uow_factory() as uow:
        await uow.subscriptions.replace(lan.id, ["w09"], ["env"], NOW)
        assert await uow.subscriptions.clear(lan.id) == 2
    async with any_uow_factory() as uow:
        assert await uow.subscriptions.of(lan.id) == (codes("w01"), NOTHING)
