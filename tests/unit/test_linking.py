"""One person on two channels: linking, and where notifications go."""

from __future__ import annotations

from domain.clock import FixedClock
from domain.people import Role
from handlers.i18n import Catalog
from handlers.render import numbered_text
from tests.conversation_harness import Person, file_report, join, make_service
from tests.fakes.memory_uow import MemoryStore


async def joined(store: MemoryStore, clock: FixedClock, name: str, role: Role, unit: str | None,
                 channel: str) -> Person:
    return await join(store, clock, name, role, unit, channel, user_id=f"{channel}-{name}")


async def test_link_two_channels_then_choose_where_notifications_go(clock: FixedClock) -> None:
    store = MemoryStore()
    lan_tg = await joined(store, clock, "Lan", Role.COLLABORATOR, "bo-de", "telegram")
    board = await joined(store, clock, "Hùng", Role.BOARD, None, "telegram")
    lan_zalo = Person(make_service(store, clock), store, "zalo-lan", "Lan Z", "zalo")
    await lan_zalo.say("Xin chào")

    shown = await lan_tg.say("/lienket")
    code = next(w for w in shown[-1].text.split() if len(w) == 10 and w.isupper())
    linked = await lan_zalo.say(f"/lienket {code}")
    assert "Đã liên kết" in linked[-1].text and "telegram, zalo" in linked[-1].text
    again = await lan_zalo.say(f"/lienket {code}")
    assert "không đúng hoặc đã hết hạn" in again[-1].text  # a code works once

    await file_report(lan_zalo)  # she can now report from Zalo as the ward collaborator
    await board.press_payload("c:direct:PA-2026-000001")
    assert any("trực tiếp chỉ đạo" in r.text for r in lan_tg._new_replies())
    assert any("trực tiếp chỉ đạo" in r.text for r in lan_zalo._new_replies())

    await lan_tg.say("/thongbao zalo")
    await file_report(lan_tg)
    await board.press_payload("c:direct:PA-2026-000002")
    assert not any("PA-2026-000002" in r.text for r in lan_tg._new_replies())
    assert any("PA-2026-000002" in r.text for r in lan_zalo._new_replies())


async def test_an_account_with_its_own_role_is_not_merged(clock: FixedClock) -> None:
    store = MemoryStore()
    lan = await joined(store, clock, "Lan", Role.COLLABORATOR, "bo-de", "telegram")
    minh = await joined(store, clock, "Minh", Role.HANDLER, "bo-de", "zalo")
    shown = await lan.say("/lienket")
    code = next(w for w in shown[-1].text.split() if len(w) == 10 and w.isupper())
    refused = await minh.say(f"/lienket {code}")
    assert "không gộp được" in refused[-1].text
    handler = next(p for p in store.state.people.values() if p.display_name == "Minh")
    assert handler.role is Role.HANDLER
    assert store.state.identities[("zalo", "zalo-Minh")].person_id == handler.id


async def test_case_buttons_read_as_commands_where_there_are_no_buttons(
    clock: FixedClock,
) -> None:
    store = MemoryStore()
    lan = await joined(store, clock, "Lan", Role.COLLABORATOR, "bo-de", "zalo")
    board = await joined(store, clock, "Hùng", Role.BOARD, None, "zalo")
    await file_report(lan)
    [card] = [r for r in board._new_replies() if "PA-2026-000001" in r.text]
    text = numbered_text(card, Catalog("vi"))
    assert "/giao PA-2026-000001" in text and "/tuchoi PA-2026-000001" in text
    asked = await board.say("/giao PA-2026-000001")
    assert "cho đơn vị nào" in asked[-1].text
    refused = await lan.say("/giao PA-2026-000001")
    assert "không có quyền" in refused[-1].text


async def test_what_a_linked_chat_followed_its_person_follows(clock: FixedClock) -> None:
    store = MemoryStore()
    an_tg = await joined(store, clock, "An", Role.RESIDENT, None, "telegram")
    an_zalo = await joined(store, clock, "An Z", Role.RESIDENT, None, "zalo")
    await an_tg.say("/theodoi")
    await an_tg.press("Phường Gia Thụy")
    await an_tg.press("Xong")
    await an_tg.press("Xong")  # no topic chosen: every topic
    await an_zalo.say("/theodoi")
    await an_zalo.press("Phường Bồ Đề")
    await an_zalo.press("Xong")
    await an_zalo.press("Xong")
    shown = await an_tg.say("/lienket")
    code = next(w for w in shown[-1].text.split() if len(w) == 10 and w.isupper())
    assert "Đã liên kết" in (await an_zalo.say(f"/lienket {code}"))[-1].text
    following = await an_zalo.say("/theodoi")
    ticked = [c.label for c in following[-1].choices if c.label.startswith("✅")]
    assert ticked == ["✅ Phường Bồ Đề", "✅ Phường Gia Thụy"]
    assert len({person for person, _, _ in store.state.subscriptions}) == 1  # one person now
