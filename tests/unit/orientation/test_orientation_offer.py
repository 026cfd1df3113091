"""After the board accepts an answer: the offer of an orientation about the case, pre-filled."""

from __future__ import annotations

from domain.broadcasts import AudienceKind
from domain.clock import FixedClock
from domain.people import Role
from tests.conversation_harness import Person, file_report, join
from tests.fakes.memory_uow import MemoryStore
from tests.unit.orientation.world import accept_answer, broadcasts, copies, labels

ANSWER = "Đã yêu cầu chủ nhà tháo dỡ phần xây lấn vỉa hè"


async def test_on_telegram_the_offer_is_a_button_and_prefills_text_and_ward(
    store: MemoryStore, clock: FixedClock, people: dict[str, Person]
) -> None:
    tg = await join(store, clock, "Thảo", Role.BOARD, None, "telegram")
    said = await accept_answer(people, tg, ANSWER)
    assert any("Đã chấp nhận" in t for t in said)
    assert "📢 Đăng định hướng về vụ việc này" in labels(tg.last)
    prefilled = await tg.press("Đăng định hướng về vụ việc này")
    assert "Định hướng về vụ việc PA-2026-000001" in prefilled[-1].text
    assert ANSWER in prefilled[-1].text
    assert labels(prefilled)[0] == "✅ Dùng nội dung này"
    await tg.press("Dùng nội dung này")
    preview = await tg.press("Bỏ qua")  # straight to the preview: the ward is set
    text = preview[-1].text
    assert ANSWER in text and "Cộng tác viên và cán bộ: Phường Bồ Đề" in text
    assert "Số người nhận: 2 (Thử nghiệm: 2)" in text  # Lan and Minh; the author never
    await tg.press("Gửi ngay")
    [broadcast] = broadcasts(store)
    assert broadcast.case_code == "PA-2026-000001" and broadcast.text == ANSWER
    assert broadcast.audience.kind is AudienceKind.WARDS
    assert broadcast.audience.wards == ("bo-de",)
    assert {i.chat_id for i in copies(store, broadcast)} == {"u-Lan", "u-Minh"}


async def test_elsewhere_the_offer_names_the_command_and_the_text_can_be_replaced(
    store: MemoryStore, people: dict[str, Person]
) -> None:
    hung = people["hung"]
    said = await accept_answer(people, hung, ANSWER)
    assert any("/dinhhuong PA-2026-000001" in t for t in said)
    assert "📢 Đăng định hướng về vụ việc này" not in labels(hung.last)
    prefilled = await hung.say("/dinhhuong PA-2026-1")
    assert ANSWER in prefilled[-1].text
    await hung.say("Phường đã xử lý xong vụ xây lấn vỉa hè tại ngõ 12")
    await hung.press("Bỏ qua")
    await hung.press("Sửa")
    await hung.press("Người nhận")
    wards = await hung.press("Theo phường")
    assert "✅ Phường Bồ Đề" in labels(wards)  # the case's ward, already chosen
    await hung.press("Phường Gia Thụy")
    preview = await hung.press("Xong")
    assert "Phường Bồ Đề, Phường Gia Thụy" in preview[-1].text
    await hung.press("Gửi ngay")
    [broadcast] = broadcasts(store)
    assert broadcast.text == "Phường đã xử lý xong vụ xây lấn vỉa hè tại ngõ 12"
    assert broadcast.case_code == "PA-2026-000001"
    assert broadcast.audience.wards == ("bo-de", "gia-thuy")


async def test_an_unknown_case_or_a_bad_code_starts_nothing(
    store: MemoryStore, people: dict[str, Person]
) -> None:
    hung = people["hung"]
    unknown = await hung.say("/dinhhuong PA-2026-000777")
    assert "Không có vụ việc PA-2026-000777" in unknown[-1].text
    bad = await hung.say("/dinhhuong hôm nay")
    assert "PA-2026-000123" in bad[-1].text
    forged = await hung.press_payload("b:orient:PA-2026-000777")
    assert "Không có vụ việc PA-2026-000777" in forged[-1].text
    assert store.state.drafts == {}


async def test_a_case_without_an_answer_asks_for_the_text(
    store: MemoryStore, people: dict[str, Person]
) -> None:
    hung, lan = people["hung"], people["lan"]
    await file_report(lan)
    asked = await hung.say("/dinhhuong PA-2026-000001")
    assert "Soạn thông tin định hướng" in asked[-1].text
    await hung.say("Ban đang chỉ đạo xử lý")
    preview = await hung.press("Bỏ qua")
    assert "Phường Bồ Đề" in preview[-1].text  # the ward is set all the same
