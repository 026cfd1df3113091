"""People on different channels work one case together: Zalo and Telegram at once."""

from __future__ import annotations

from pathlib import Path

from bot.settings import Settings
from domain.people import Role
from tests.e2e.harness import invitation, running_zalo, zalo_settings
from tests.e2e.test_telegram_cases import answer_to, case_json, joined, press_starting
from tests.e2e.test_telegram_intake import file_report as file_on_telegram
from tests.e2e.test_zalo_intake import file_report as file_on_zalo
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.zalo_api import FakeZalo
from tests.fakes.zalo_users import FakeZaloUser


def both_channels(url: str, tmp_path: Path, tg: FakeTelegram, zalo: FakeZalo) -> Settings:
    settings = zalo_settings(url, tmp_path, zalo, "polling")
    return settings.model_copy(update={
        "telegram_bot_token": Settings(_env_file=None, telegram_bot_token=tg.token)
        .telegram_bot_token,
        "telegram_api_base": tg.base_url,
    })


async def zalo_says(user: FakeZaloUser, text: str, expect: str) -> str:
    user.mark()
    await user.send_text(text)
    await user.zalo.wait_for(lambda: any(expect in t for t in user.texts()), what=expect)
    return "\n".join(user.texts())


def code_in(text: str) -> str:
    return next(w for w in text.split() if w.startswith("PA-")).rstrip(".")


async def test_reported_on_zalo_handled_on_telegram(
    tg: FakeTelegram, zalo: FakeZalo, clean_database_url: str, tmp_path: Path
) -> None:
    url = clean_database_url
    async with running_zalo(both_channels(url, tmp_path, tg, zalo), zalo):
        board = await joined(tg, url, 8001, "Hùng", Role.BOARD, None)
        minh = await joined(tg, url, 8002, "Minh", Role.HANDLER, "bo-de")
        lan = zalo.user("lan-zalo", "Lan")
        code = code_in(await file_on_zalo(lan, await invitation(url)))

        await tg.wait_for(lambda: any("Giao xử lý" in str(m.buttons) for m in tg.sent(8001)))
        lan.mark()
        await answer_to(board, board.press("📤 Giao xử lý"), "cho đơn vị nào")
        await answer_to(board, board.press("✅ Phường Bồ Đề (đề xuất)"), "Hạn trả lời")
        await answer_to(board, press_starting(board, "⏱️ Theo quy định"), "Đã giao")
        await zalo.wait_for(lambda: any("chuyển Phường Bồ Đề" in t for t in lan.texts()))

        await tg.wait_for(lambda: any("Tiếp nhận" in str(m.buttons) for m in tg.sent(8002)))
        await answer_to(minh, minh.press("📨 Trả lời"), "Gõ nội dung trả lời")
        await answer_to(minh, minh.send_text("Đã tháo dỡ phần lấn chiếm"), "Gửi ảnh kết quả")
        await answer_to(minh, minh.send_photo(b"\xff\xd8evidence", sizes=1), "Đã nhận 1/5")
        await answer_to(minh, minh.press("📨 Gửi trả lời"), "Đã gửi trả lời")
        await tg.wait_for(lambda: any("Chấp nhận" in str(m.buttons) for m in tg.sent(8001)))
        lan.mark()
        await answer_to(board, board.press("✅ Chấp nhận trả lời"), "Đã chấp nhận")
        await zalo.wait_for(lambda: any(f"/daxong {code}" in t for t in lan.texts()))
        # The evidence photo reached Zalo through a signed link that Zalo itself fetched.
        await zalo.wait_for(lambda: any(s.photo == b"\xff\xd8evidence"
                                        for s in zalo.sent(lan.chat_id)))
        # No buttons on Zalo: the reporter answers "is it really fixed?" with the command shown.
        await zalo_says(lan, f"/chuaxong {code}", "còn như thế nào")
        await zalo_says(lan, "Vẫn còn vật liệu trên vỉa hè", "Đã mở lại")
        await tg.wait_for(lambda: any("CHƯA được giải quyết" in t for t in tg.texts(8002)))
    case = await case_json(url, code)
    assert case["status"] == "assigned" and case["channel"] == "zalo"
    assert [e["to"] for e in case["timeline"]][-3:] == ["verifying", "reopened", "assigned"]


async def test_reported_on_telegram_handled_on_zalo(
    tg: FakeTelegram, zalo: FakeZalo, clean_database_url: str, tmp_path: Path
) -> None:
    url = clean_database_url
    async with running_zalo(both_channels(url, tmp_path, tg, zalo), zalo):
        board = await joined(tg, url, 8101, "Hùng", Role.BOARD, None)
        lan = tg.user(id=8100, first_name="Lan")
        code = code_in(await file_on_telegram(lan, await invitation(url)))
        minh = zalo.user("minh-zalo", "Minh")
        await zalo_says(minh, await invitation(url, Role.HANDLER, "bo-de"), "cán bộ xử lý")

        await tg.wait_for(lambda: any("Giao xử lý" in str(m.buttons) for m in tg.sent(8101)))
        await answer_to(board, board.press("📤 Giao xử lý"), "cho đơn vị nào")
        await answer_to(board, board.press("✅ Phường Bồ Đề (đề xuất)"), "Hạn trả lời")
        minh.mark()
        await answer_to(board, press_starting(board, "⏱️ Theo quy định"), "Đã giao")
        await zalo.wait_for(lambda: any(f"/tiepnhan {code}" in t for t in minh.texts()))
        assert "Lan" not in "\n".join(minh.texts())

        await zalo_says(minh, f"/tiepnhan {code}", "Đã tiếp nhận")
        await zalo_says(minh, f"/traloi {code}", "Gõ nội dung trả lời")
        await zalo_says(minh, "Đã xử lý xong", "Không có ảnh")
        await zalo_says(minh, "1", "Vì sao không có ảnh")  # 1. 🚫 Không có ảnh
        await zalo_says(minh, "Điện thoại hỏng camera", "Đã gửi trả lời")

        await tg.wait_for(lambda: any("Chấp nhận" in str(m.buttons) for m in tg.sent(8101)))
        await answer_to(board, board.press("✅ Chấp nhận trả lời"), "Đã chấp nhận")
        await tg.wait_for(lambda: any("Đã xử lý xong" in t for t in tg.texts(8100)))
        await answer_to(lan, lan.press("✅ Đã giải quyết"), "đã khép lại")
        await zalo.wait_for(lambda: any("xác nhận vấn đề đã được giải quyết" in t
                                        for t in minh.texts()))
    case = await case_json(url, code)
    assert [e["to"] for e in case["timeline"]] == [
        "submitted", "assigned", "in_progress", "answered", "verifying", "closed",
    ]


async def test_link_telegram_and_zalo_and_choose_where_to_hear(
    tg: FakeTelegram, zalo: FakeZalo, clean_database_url: str, tmp_path: Path
) -> None:
    url = clean_database_url
    async with running_zalo(both_channels(url, tmp_path, tg, zalo), zalo):
        board = await joined(tg, url, 8201, "Hùng", Role.BOARD, None)
        lan = await joined(tg, url, 8200, "Lan", Role.COLLABORATOR, "bo-de")
        shown = await answer_to(lan, lan.send_text("/lienket"), "Mã liên kết")
        link_code = shown.split("/lienket ")[-1].split()[0]
        lan_z = zalo.user("lan-z", "Lan Z")
        linked = await zalo_says(lan_z, f"/lienket {link_code}", "Đã liên kết")
        assert "telegram, zalo" in linked
        await answer_to(lan, lan.send_text("/thongbao zalo"), "zalo")

        await zalo_says(lan_z, "/phananh", "Bước 1/6")
        code = code_in(await _report_on_zalo(lan_z))
        await tg.wait_for(lambda: any("Giao xử lý" in str(m.buttons) for m in tg.sent(8201)))
        before = len(tg.texts(8200))
        await answer_to(board, board.press("🚫 Không tiếp nhận"), "Vì sao")
        await answer_to(board, board.press("Chưa đủ thông tin"), "Đã từ chối")
        await zalo.wait_for(lambda: any("không được tiếp nhận" in t for t in lan_z.texts()))
    assert not any(code in t for t in tg.texts(8200)[before:])  # she chose Zalo only


async def _report_on_zalo(lan: FakeZaloUser) -> str:
    for text, expect in (("1", "phải không"), ("1", "Bước 3/6"), ("Ngõ 3", "Bước 4/6"),
                         ("Cột điện nghiêng", "Bước 5/6"), ("xong", "Bước 6/6"),
                         ("1", "Kiểm tra lại")):
        await zalo_says(lan, text, expect)
    return await zalo_says(lan, "1", "Đã gửi phản ánh")
