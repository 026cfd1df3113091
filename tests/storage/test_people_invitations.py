"""People, identities and invitations: the same behaviour in memory, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from domain.invitations import Invitation, new_invitation
from domain.people import ChannelIdentity, Role
from domain.ports import UnitOfWorkFactory
from tests.storage.builders import NOW, add_person, committed_person


async def test_person_and_identity_round_trip(any_uow_factory: UnitOfWorkFactory) -> None:
    async with any_uow_factory() as uow:
        added = await uow.people.add(
            "Nguyễn Văn A", Role.HANDLER, "p-hoan-kiem", NOW, ("zalo", "z-1", "chat-9")
        )
        await uow.commit()

    async with any_uow_factory() as uow:
        by_identity = await uow.people.by_identity("zalo", "z-1")
        by_id = await uow.people.get(added.id)
        identities = await uow.people.identities(added.id)

    assert by_identity == added
    assert by_id == added
    assert by_id is not None and by_id.role is Role.HANDLER
    assert by_id.display_name == "Nguyễn Văn A"
    assert by_id.created_at == NOW
    assert identities == [ChannelIdentity("zalo", "z-1", "chat-9", added.id)]


async def test_unknown_identity_and_person(any_uow_factory: UnitOfWorkFactory) -> None:
    person = await committed_person(any_uow_factory, "7")
    async with any_uow_factory() as uow:
        assert await uow.people.by_identity("telegram", "8") is None
        assert await uow.people.by_identity("zalo", "7") is None
        assert await uow.people.get(person.id + 1000) is None


async def test_people_get_distinct_ids(any_uow_factory: UnitOfWorkFactory) -> None:
    async with any_uow_factory() as uow:
        first = await add_person(uow, "1")
        second = await add_person(uow, "2")
        await uow.commit()
    assert first.id != second.id
    async with any_uow_factory() as uow:
        assert (await uow.people.by_identity("telegram", "2")) == second


async def test_set_role_and_with_role(any_uow_factory: UnitOfWorkFactory) -> None:
    async with any_uow_factory() as uow:
        alice = await add_person(uow, "1", Role.RESIDENT, None)
        bob = await add_person(uow, "2", Role.HANDLER, "u1")
        carol = await add_person(uow, "3", Role.HANDLER, "u2")
        await uow.people.set_role(alice.id, Role.HANDLER, "u1")
        await uow.commit()

    async with any_uow_factory() as uow:
        changed = await uow.people.get(alice.id)
        handlers = await uow.people.with_role(Role.HANDLER)
        of_u1 = await uow.people.with_role(Role.HANDLER, "u1")
        residents = await uow.people.with_role(Role.RESIDENT)

    assert changed is not None
    assert (changed.role, changed.unit_code) == (Role.HANDLER, "u1")
    assert sorted(p.id for p in handlers) == sorted([alice.id, bob.id, carol.id])
    assert sorted(p.id for p in of_u1) == sorted([alice.id, bob.id])
    assert residents == []


async def test_invitation_round_trip(any_uow_factory: UnitOfWorkFactory) -> None:
    invitation = new_invitation(Role.BOARD, "board-1", NOW, timedelta(days=3))
    async with any_uow_factory() as uow:
        await uow.invitations.add(invitation)
        await uow.commit()
    async with any_uow_factory() as uow:
        loaded = await uow.invitations.get(invitation.code)
        missing = await uow.invitations.get("NOSUCHCODE")
    assert loaded == invitation
    assert loaded is not None and loaded.expires_at == NOW + timedelta(days=3)
    assert missing is None


async def test_invitation_is_used_only_once(any_uow_factory: UnitOfWorkFactory) -> None:
    first = await committed_person(any_uow_factory, "1")
    second = await committed_person(any_uow_factory, "2")
    invitation = Invitation("ABCDEFGHJK", Role.COLLABORATOR, "u1", NOW, NOW + timedelta(days=1))
    async with any_uow_factory() as uow:
        await uow.invitations.add(invitation)
        await uow.commit()

    used_at = NOW + timedelta(minutes=5)
    async with any_uow_factory() as uow:
        assert await uow.invitations.mark_used(invitation.code, first.id, used_at) is True
        await uow.commit()
    async with any_uow_factory() as uow:
        assert await uow.invitations.mark_used(invitation.code, second.id, NOW) is False
        await uow.commit()

    async with any_uow_factory() as uow:
        loaded = await uow.invitations.get(invitation.code)
    assert loaded is not None
    assert (loaded.used_by, loaded.used_at) == (first.id, used_at)


async def test_link_codes_are_taken_once_before_they_expire(
    any_uow_factory: UnitOfWorkFactory,
) -> None:
    from datetime import timedelta

    person = await committed_person(any_uow_factory)
    async with any_uow_factory() as uow:
        await uow.link_codes.add("LINK1", person.id, NOW + timedelta(minutes=15))
        await uow.link_codes.add("LINK2", person.id, NOW + timedelta(minutes=15))
        await uow.commit()
    async with any_uow_factory() as uow:
        assert await uow.link_codes.take("LINK1", NOW) == person.id
        assert await uow.link_codes.take("LINK1", NOW) is None  # once
        assert await uow.link_codes.take("LINK2", NOW + timedelta(minutes=16)) is None  # expired
        assert await uow.link_codes.take("NOPE", NOW) is None
        await uow.commit()


async def test_an_identity_moves_to_another_person_and_notify_channel_is_kept(
    any_uow_factory: UnitOfWorkFactory,
) -> None:
    from domain.people import Role

    async with any_uow_factory() as uow:
        first = await uow.people.add("Lan", Role.COLLABORATOR, "bo-de", NOW, ("telegram", "1", "1"))
        second = await uow.people.add("Lan Z", Role.RESIDENT, None, NOW, ("zalo", "z1", "z1"))
        await uow.commit()
    async with any_uow_factory() as uow:
        await uow.people.move_identity("zalo", "z1", first.id)
        await uow.people.set_notify_channel(first.id, "zalo")
        await uow.commit()
    async with any_uow_factory() as uow:
        moved = await uow.people.by_identity("zalo", "z1")
        assert moved is not None and moved.id == first.id and moved.notify_channel == "zalo"
        assert {i.channel for i in await uow.people.identities(first.id)} == {"telegram", "zalo"}
        assert await uow.people.identities(second.id) == []


async def test_a_job_is_claimed_once(any_uow_factory: UnitOfWorkFactory) -> None:
    async with any_uow_factory() as uow:
        assert await uow.job_runs.claim("monthly-review:2026-10", NOW)
        assert not await uow.job_runs.claim("monthly-review:2026-10", NOW)
        assert await uow.job_runs.claim("monthly-review:2026-11", NOW)
        await uow.commit()
    async with any_uow_factory() as uow:
        assert not await uow.job_runs.claim("monthly-review:2026-10", NOW)
