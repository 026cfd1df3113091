"""The intake conversation end to end through the core, on the in-memory store."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.clock import FixedClock
from domain.people import Role
from domain.reports import ReportStatus
from handlers.admin import create_invitations
from tests.conversation_harness import Person, make_service
from tests.fakes.memory_uow import MemoryStore


async def invite(store: MemoryStore, clock: FixedClock, role: Role = Role.COLLABORATOR,
                 unit: str | None = "bo-de") -> str:
    from tests.conversation_harness import small_org

    async with store() as uow:
        [invitation] = await create_invitations(uow, small_org(), role, unit, 1, clock.now())
        await uow.commit()
    return invitation.code


async def to_description(lan: Person, place: str = "Chợ Long Biên") -> None:
    """A new report, category «Khác», her own ward, `place` typed: the description is asked."""
    await lan.press("Gửi phản ánh")
    await lan.press("Khác")
    await lan.press("Đúng")
    await lan.say(place)


async def collaborator(store: MemoryStore, clock: FixedClock, name: str = "Lan") -> Person:
    lan = Person(make_service(store, clock), store, user_id=f"u-{name}", name=name)
    replies = await lan.say(f"/start {await invite(store, clock)}")
    assert "cộng tác viên" in replies[-1].text
    return lan


async def file_to_summary(lan: Person) -> None:
    await lan.press("Gửi phản ánh")
    await lan.press("Trật tự xây dựng")
    await lan.press("Đúng, Phường Bồ Đề")
    await lan.say("Số 5 ngõ 12 Nguyễn Văn Cừ")
    await lan.say("Nhà số 5 đang xây lấn ra vỉa hè")
    await lan.photo(b"one")
    await lan.press("Xong")
    replies = await lan.press("Bình thường")
    assert "Kiểm tra lại phản ánh" in replies[-1].text


async def test_a_whole_report_is_stored_with_a_code_and_deadline(
    store: MemoryStore, clock: FixedClock
) -> None:
    lan = await collaborator(store, clock)
    await file_to_summary(lan)
    replies = await lan.press("Gửi")
    [report] = store.state.reports.values()
    assert report.code == "PA-2026-000001"
    assert report.status is ReportStatus.SUBMITTED
    assert report.ward_code == "bo-de" and report.category_code == "trat-tu-xay-dung"
    assert report.address == "Số 5 ngõ 12 Nguyễn Văn Cừ" and report.photo_count == 1
    # 8 working hours from Monday 09:00 is Tuesday 09:30 (lunch 12:00–13:30 not counted).
    assert "09:30 01/12/2026" in replies[-1].text
    assert "PA-2026-000001" in replies[-1].text
    assert store.state.drafts == {}
    [event] = store.state.events
    assert (event.from_status, event.to_status) == (ReportStatus.DRAFT, ReportStatus.SUBMITTED)


async def test_typing_numbers_and_labels_without_diacritics_works(
    store: MemoryStore, clock: FixedClock
) -> None:
    lan = await collaborator(store, clock)
    await lan.say("1")  # menu: Gửi phản ánh
    await lan.say("trat tu do thi")
    await lan.say("3")  # wards: own first, then Gia Thụy, Việt Hưng
    await lan.say("Chợ Long Biên")
    await lan.say("Lấn chiếm lòng đường")
    await lan.say("xong")
    await lan.say("khan")
    await lan.say("gui")
    [report] = store.state.reports.values()
    assert report.category_code == "trat-tu-do-thi"
    assert report.ward_code == "viet-hung"
    assert report.urgency.value == "urgent"


async def test_digits_that_are_not_numbers_are_asked_again_and_wide_digits_count(
    store: MemoryStore, clock: FixedClock
) -> None:
    lan = await collaborator(store, clock)
    await lan.say("1")  # menu: Gửi phản ánh
    for typed in ("²", "①", "9" * 4000):  # str.isdigit() says yes to all three
        again = await lan.say(typed)
        assert "lĩnh vực" in again[-1].text
    await lan.say("２")  # a full-width 2: the second category
    [draft] = store.state.drafts.values()
    assert draft.step == "ward" and draft.data["category"] == "trat-tu-do-thi"


async def test_her_own_ward_typed_by_its_name_is_chosen(
    store: MemoryStore, clock: FixedClock
) -> None:
    lan = await collaborator(store, clock)
    await lan.say("1")  # menu: Gửi phản ánh
    await lan.say("khac")
    asked = await lan.say("phuong bo de")  # offered only as "✅ Đúng, Phường Bồ Đề"
    assert "Bước 3/6" in asked[-1].text
    [draft] = store.state.drafts.values()
    assert draft.data["ward"] == "bo-de"


async def test_back_returns_to_the_previous_step_and_keeps_answers(
    store: MemoryStore, clock: FixedClock
) -> None:
    lan = await collaborator(store, clock)
    await lan.press("Gửi phản ánh")
    await lan.press("Khác")
    replies = await lan.press("Quay lại")
    assert "lĩnh vực" in replies[-1].text
    draft = store.state.drafts[1]
    assert draft.step == "category" and draft.data["category"] == "khac"


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ("sticker", "chưa đọc được"),
        ("photo", "chưa cần ảnh"),
        ("voice", "chưa nhận ghi âm"),
        ("nonsense", "gõ số thứ tự"),
    ],
)
async def test_unexpected_input_is_explained_and_the_step_asked_again(
    store: MemoryStore, clock: FixedClock, action: str, expected: str
) -> None:
    lan = await collaborator(store, clock)
    await lan.press("Gửi phản ánh")
    before = store.state.drafts[1]
    if action == "sticker":
        replies = await lan.sticker()
    elif action == "photo":
        replies = await lan.photo()
    elif action == "voice":
        replies = await lan.voice()
    else:
        replies = await lan.say("abc xyz")
    assert expected in replies[-1].text
    assert "Bước 1/6" in replies[-1].text
    after = store.state.drafts[1]
    assert (after.step, after.data) == (before.step, before.data)


async def test_too_long_description_is_refused(store: MemoryStore, clock: FixedClock) -> None:
    lan = await collaborator(store, clock)
    await lan.press("Gửi phản ánh")
    await lan.press("Khác")
    await lan.press("Đúng")
    await lan.say("Chợ")
    replies = await lan.say("x" * 2001)
    assert "2001 ký tự" in replies[-1].text and "tối đa 2000" in replies[-1].text
    assert store.state.drafts[1].step == "description"
    await lan.say("x" * 2000)
    assert store.state.drafts[1].step == "photos"


async def test_a_sixth_photo_is_refused_and_an_album_answered_once(
    store: MemoryStore, clock: FixedClock
) -> None:
    lan = await collaborator(store, clock)
    await to_description(lan, "Chợ")
    await lan.voice()
    first = await lan.photo(b"a", album="g1")
    rest = [await lan.photo(bytes([i]), album="g1") for i in range(3)]
    assert len(first) == 1 and all(r == [] for r in rest)
    assert "4/5" not in first[0].text
    await lan.photo(b"e")
    replies = await lan.photo(b"f")
    assert "tối đa 5 ảnh" in replies[-1].text
    assert len(store.state.drafts[1].data["photos"]) == 5
    await lan.press("Xong")
    await lan.press("Bình thường")
    await lan.press("Gửi")
    [report] = store.state.reports.values()
    assert report.photo_count == 5
    assert report.description == "" and any(m.kind.value == "voice" for m in report.media)


async def test_stale_and_forged_buttons_change_nothing(
    store: MemoryStore, clock: FixedClock
) -> None:
    lan = await collaborator(store, clock)
    await lan.press("Gửi phản ánh")
    old_payload = lan.last[-1].choices[0].payload
    await lan.press("Khác")
    before = store.state.drafts[1]
    stale = await lan.press_payload(old_payload)
    assert "tin nhắn cũ" in stale[-1].text
    from handlers.engine import draft_token

    forged = await lan.press_payload(f"s:{draft_token(before)}:{before.step}:not-a-ward")
    assert "không hợp lệ" in forged[-1].text
    junk = await lan.press_payload("zz")
    assert "không hợp lệ" in junk[-1].text
    after = store.state.drafts[1]
    assert (after.step, after.data) == (before.step, before.data)


async def test_cancel_discards_the_draft(store: MemoryStore, clock: FixedClock) -> None:
    lan = await collaborator(store, clock)
    await lan.press("Gửi phản ánh")
    replies = await lan.say("/huy")
    assert "Đã hủy" in replies[-1].text and store.state.drafts == {}


async def test_an_unfinished_report_is_offered_back(store: MemoryStore, clock: FixedClock) -> None:
    lan = await collaborator(store, clock)
    await lan.press("Gửi phản ánh")
    await lan.press("Khác")
    clock.set(clock.now() + timedelta(hours=2))
    replies = await lan.say("Chợ")
    assert "đang soạn dở" in replies[-1].text and "địa bàn" in replies[-1].text
    replies = await lan.press("Làm tiếp")
    assert "Bước 2/6" in replies[-1].text
    await lan.say("/start")
    replies = await lan.press("Bỏ phản ánh")
    assert store.state.drafts == {} and "Đã hủy" in replies[0].text


async def test_help_explains_the_current_step(store: MemoryStore, clock: FixedClock) -> None:
    lan = await collaborator(store, clock)
    await lan.press("Gửi phản ánh")
    await lan.press("Khác")
    replies = await lan.say("/trogiup")
    assert "nơi xảy ra" in replies[-1].text and "Bước 2/6" in replies[-1].text


async def test_edit_a_field_returns_to_the_summary(store: MemoryStore, clock: FixedClock) -> None:
    lan = await collaborator(store, clock)
    await file_to_summary(lan)
    await lan.press("Sửa")
    await lan.press("Vị trí")
    replies = await lan.say("Ngõ 7")
    assert "Kiểm tra lại" in replies[-1].text and "Ngõ 7" in replies[-1].text
    await lan.press("Gửi")
    [report] = store.state.reports.values()
    assert report.address == "Ngõ 7"


async def test_residents_cannot_file_reports(store: MemoryStore, clock: FixedClock) -> None:
    bao = Person(make_service(store, clock), store, user_id="u-bao", name="Bảo")
    greeting = await bao.say("/start")
    assert "người dân" in greeting[-1].text
    replies = await bao.say("/phananh")
    assert "Chỉ cộng tác viên" in replies[-1].text
    assert store.state.drafts == {}


@pytest.mark.parametrize("problem", ["unknown", "used", "expired"])
async def test_bad_invitation_codes_change_nothing(
    store: MemoryStore, clock: FixedClock, problem: str
) -> None:
    code = await invite(store, clock)
    if problem == "used":
        await Person(make_service(store, clock), store, "u-x", "X").say(f"/start {code}")
    elif problem == "expired":
        clock.set(clock.now() + timedelta(days=15))
    elif problem == "unknown":
        code = "ABCDEFGHJK"
    bao = Person(make_service(store, clock), store, user_id="u-bao", name="Bảo")
    replies = await bao.say(f"/start {code}")
    expected = {"unknown": "không đúng", "used": "đã được dùng", "expired": "hết hạn"}[problem]
    assert expected in replies[-1].text
    person = next(p for p in store.state.people.values() if p.display_name == "Bảo")
    assert person.role is Role.RESIDENT


async def test_status_shows_own_reports_and_refuses_others(
    store: MemoryStore, clock: FixedClock
) -> None:
    lan = await collaborator(store, clock)
    await file_to_summary(lan)
    await lan.press("Gửi")
    listing = await lan.say("/trangthai")
    assert "PA-2026-000001" in listing[-1].text and "chờ tiếp nhận" in listing[-1].text
    detail = await lan.say("/status pa-2026-1")
    assert "Nguyễn Văn Cừ" in detail[-1].text
    mai = await collaborator(store, clock, name="Mai")
    refused = await mai.say("/trangthai PA-2026-000001")
    assert "Không tìm thấy" in refused[-1].text and "Nguyễn Văn Cừ" not in refused[-1].text


async def test_a_redelivered_update_is_handled_once(store: MemoryStore, clock: FixedClock) -> None:
    lan = await collaborator(store, clock)
    from handlers.types import Incoming, Kind

    update = Incoming("console", "same-key", lan.user_id, lan.user_id, "Lan", Kind.TEXT, "/phananh")
    assert await lan.service.handle(update) is True
    assert await lan.service.handle(update) is False
    assert store.state.drafts[1].revision == 1


async def test_after_leaving_a_report_typed_numbers_answer_the_menu(
    store: MemoryStore, clock: FixedClock
) -> None:
    lan = await collaborator(store, clock)
    await lan.press("Gửi phản ánh")
    await lan.press("Khác")
    await lan.press("Quay lại")
    menu = await lan.press("Quay lại")  # back from the first step: the report is kept
    assert "vẫn được giữ lại" in menu[-1].text
    listing = await lan.say("2")  # "2. 📋 Phản ánh của tôi", as shown
    assert "chưa gửi phản ánh nào" in listing[-1].text
    assert store.state.drafts[1].data["category"] == "khac"
    offered = await lan.say("Chợ Long Biên")
    assert "đang soạn dở" in offered[-1].text


async def test_help_after_another_command_or_a_pause_takes_her_back_into_the_report(
    store: MemoryStore, clock: FixedClock
) -> None:
    lan = await collaborator(store, clock)
    await lan.press("Gửi phản ánh")
    await lan.press("Khác")
    await lan.press("Đúng")  # at the place step
    await lan.say("/trangthai")  # the menu is shown: the report is parked
    helped = await lan.say("/trogiup")
    assert "Bước 3/6" in helped[-1].text
    asked = await lan.say("Chợ Long Biên")  # the answer to the step /trogiup asked again
    assert "Bước 4/6" in asked[-1].text
    clock.set(clock.now() + timedelta(hours=2))  # a long pause, then help and an answer
    await lan.say("/trogiup")
    assert "Bước 5/6" in (await lan.say("Lấn chiếm lòng đường"))[-1].text
    assert store.state.drafts[1].data["address"] == "Chợ Long Biên"


async def test_photos_after_another_command_or_a_pause_go_into_the_report(
    store: MemoryStore, clock: FixedClock
) -> None:
    lan = await collaborator(store, clock)
    await to_description(lan)
    await lan.say("Lấn chiếm lòng đường")  # at the photos step
    await lan.say("/trangthai")
    await lan.photo(b"one", album="g1")
    await lan.photo(b"two", album="g1")
    clock.set(clock.now() + timedelta(hours=2))
    await lan.photo(b"three")
    assert len(store.state.drafts[1].data["photos"]) == 3
    clock.set(clock.now() + timedelta(hours=2))
    typed = await lan.say("anything")  # typed text after a pause still asks first
    assert "đang soạn dở" in typed[-1].text


async def test_a_step_button_after_another_command_takes_her_back_into_the_report(
    store: MemoryStore, clock: FixedClock
) -> None:
    lan = await collaborator(store, clock)
    await lan.press("Gửi phản ánh")
    await lan.press("Khác")
    ward_question = lan.last
    await lan.say("/trangthai")  # the menu is shown: the report is parked
    lan.last = ward_question
    await lan.press("Đúng")  # the ward button still on her screen
    replies = await lan.say("Ngõ 3")
    assert "Bước 4/6" in replies[-1].text and store.state.drafts[1].data["address"] == "Ngõ 3"
