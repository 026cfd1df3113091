"""A collaborator's report over Telegram: the real aiogram against the fake Bot API server."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import aiohttp
import pytest

from bot.settings import Settings
from tests.e2e.harness import (
    WEBHOOK_SECRET,
    invitation,
    running,
    service_settings,
    stored_reports,
)
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.telegram_users import FakeUser


async def step(user: FakeUser, action: object) -> str:
    """Run an action and return the text of the bot's answer."""
    await action  # type: ignore[misc]
    [reply] = await user.wait_reply(1, timeout=10)
    return reply.plain


async def file_report(lan: FakeUser, code: str) -> str:
    assert "cộng tác viên" in await step(lan, lan.send_text(f"/start {code}"))
    assert "lĩnh vực" in await step(lan, lan.press("📝 Gửi phản ánh"))
    assert "Bồ Đề phải không" in await step(lan, lan.press("Trật tự xây dựng"))
    place = await step(lan, lan.press("✅ Đúng, Phường Bồ Đề"))
    assert "Bước 3/6" in place
    assert lan.tg.last(lan.chat_id).keyboard[0][0].request_location
    await lan.send_location(21.0455, 105.8721)
    noted, asked = await lan.wait_reply(2, timeout=10)
    # The «📍» keyboard is taken away by a message of its own (the question has inline buttons).
    assert "Đã ghi vị trí" in noted.plain and noted.remove_keyboard and not noted.buttons
    assert "Bước 4/6" in asked.plain and not asked.remove_keyboard
    assert "Bước 5/6" in await step(lan, lan.send_text("Nhà số 5 xây lấn vỉa hè"))
    await lan.send_album([b"\xff\xd8photo-one", b"\xff\xd8photo-two"])
    [received] = await lan.wait_reply(1, timeout=10)
    assert "Đã nhận" in received.plain
    assert "Bước 6/6" in await step(lan, lan.press("✅ Xong"))
    summary = await step(lan, lan.press("Bình thường"))
    assert "Kiểm tra lại" in summary and "Ảnh: 2" in summary
    return await step(lan, lan.press("📨 Gửi"))


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_a_whole_report(
    tg: FakeTelegram, clean_database_url: str, tmp_path: Path, mode: str
) -> None:
    database_url = clean_database_url
    settings = service_settings(database_url, tmp_path, tg, mode)
    code = await invitation(database_url)
    async with running(settings, tg):
        lan = tg.user(id=5001, first_name="Lan")
        done = await file_report(lan, code)
        # Every one of the six button presses had its spinner stopped.
        await tg.wait_for(lambda: len(tg.callback_answers) == 6)
    [report] = await stored_reports(database_url)
    assert str(report["code"]) in done
    assert report["status"] == "submitted" and report["photos"] == 2
    assert report["ward"] == "bo-de" and report["category"] == "trat-tu-xay-dung"
    assert report["location"] == [21.0455, 105.8721]
    stored = {p.read_bytes() for p in (tmp_path / "media").rglob("*") if p.is_file()}
    assert stored == {b"\xff\xd8photo-one", b"\xff\xd8photo-two"}


async def test_a_redelivered_update_makes_one_report(
    tg: FakeTelegram, clean_database_url: str, tmp_path: Path
) -> None:
    database_url = clean_database_url
    settings = service_settings(database_url, tmp_path, tg, "webhook")
    code = await invitation(database_url)
    async with running(settings, tg) as base:
        lan = tg.user(id=5002, first_name="Lan")
        await lan.send_text(f"/start {code}")
        await lan.wait_reply(1)
        await lan.press("📝 Gửi phản ánh")
        await lan.wait_reply(1)
        await lan.press("Khác")
        await lan.wait_reply(1)
        await lan.press("✅ Đúng, Phường Bồ Đề")
        await lan.wait_reply(1)
        await lan.send_text("Chợ Long Biên")
        await lan.wait_reply(2)  # "address noted", then the question
        await lan.send_text("Lấn chiếm lòng đường")
        await lan.wait_reply(1)
        await lan.press("✅ Xong")
        await lan.wait_reply(1)
        await lan.press("Khẩn")
        await lan.wait_reply(1)
        send = await lan.press("📨 Gửi")
        await lan.wait_reply(1)
        for _ in range(2):
            assert (
                await tg.post_update(send, secret=WEBHOOK_SECRET, url=f"{base}/webhooks/telegram")
                == 200
            )
        await asyncio.sleep(0.3)
    assert len(await stored_reports(database_url)) == 1
    confirmations = [t for t in tg.texts(5002) if "Đã gửi phản ánh" in t]
    assert len(confirmations) == 1


async def test_wrong_or_missing_webhook_secret_is_refused_and_stores_nothing(
    tg: FakeTelegram, clean_database_url: str, tmp_path: Path
) -> None:
    database_url = clean_database_url
    settings = service_settings(database_url, tmp_path, tg, "webhook")
    async with running(settings, tg) as base:
        url = f"{base}/webhooks/telegram"
        update = {
            "update_id": 77,
            "message": {
                "message_id": 1,
                "date": 1700000000,
                "text": "/start",
                "chat": {"id": 5003, "type": "private"},
                "from": {"id": 5003, "is_bot": False, "first_name": "Kẻ lạ"},
            },
        }
        async with aiohttp.ClientSession() as session:
            for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
                async with session.post(url, json=update, headers=headers) as response:
                    assert response.status == 403
        assert await tg.post_update(update, secret=WEBHOOK_SECRET, url=url) == 200
        await tg.wait_for(lambda: tg.texts(5003))
        await asyncio.sleep(0.2)
    # Only the correctly signed copy was handled: one greeting.
    assert len(tg.texts(5003)) == 1


async def test_a_name_and_an_address_with_half_an_emoji_are_stored_not_refused(
    tg: FakeTelegram, clean_database_url: str, tmp_path: Path
) -> None:
    """Half an emoji (a lone UTF-16 surrogate in the update's JSON) cannot be stored as UTF-8:
    it becomes U+FFFD instead of failing the update again at every delivery."""
    url = clean_database_url
    async with running(service_settings(url, tmp_path, tg, "webhook"), tg):
        hoa = tg.user(id=5008, first_name="Hoa \ud83c")
        assert "cộng tác viên" in await step(hoa, hoa.send_text(f"/start {await invitation(url)}"))
        for label in ("📝 Gửi phản ánh", "Trật tự xây dựng", "✅ Đúng, Phường Bồ Đề"):
            await step(hoa, hoa.press(label))
        await hoa.send_text("Ngõ 5 \ud83c")
        noted, asked = await hoa.wait_reply(2, timeout=10)
        assert "Đã ghi địa chỉ: Ngõ 5 \ufffd" in noted.plain and noted.remove_keyboard
        assert "Bước 4/6" in asked.plain
        assert "Bước 5/6" in await step(hoa, hoa.send_text("Cống tắc"))
        for label in ("✅ Xong", "Bình thường"):
            await step(hoa, hoa.press(label))
        assert "PA-" in await step(hoa, hoa.press("📨 Gửi"))
    [report] = await stored_reports(url)
    assert report["address"] == "Ngõ 5 \ufffd"


async def test_updates_of_one_chat_are_handled_in_order(
    tg: FakeTelegram, clean_database_url: str, tmp_path: Path
) -> None:
    database_url = clean_database_url
    settings = service_settings(database_url, tmp_path, tg, "polling")
    code = await invitation(database_url)
    async with running(settings, tg):
        lan = tg.user(id=5004, first_name="Lan")
        await lan.send_text(f"/start {code}")
        await lan.wait_reply(1)
        for label in ("📝 Gửi phản ánh", "Khác", "✅ Đúng, Phường Bồ Đề"):
            await lan.press(label)
            await lan.wait_reply(1)
        # Three messages arrive in one getUpdates batch; the photo download is slow, yet the
        # address, description and photo must be taken in the order they were sent.
        tg.delay("getFile", 0.3)
        await lan.send_text("Ngõ 5")
        await lan.send_text("Rác thải ùn ứ")
        await lan.send_photo(b"\xff\xd8scene")
        await lan.send_text("xong")
        replies = await lan.wait_reply(5, timeout=10)  # the address is noted in a message
    assert "Bước 6/6" in replies[-1].plain
    draft_texts = "\n".join(r.plain for r in replies)
    assert "Đã nhận 1/5" in draft_texts


async def test_a_report_survives_a_restart(
    tg: FakeTelegram, clean_database_url: str, tmp_path: Path
) -> None:
    database_url = clean_database_url
    settings = service_settings(database_url, tmp_path, tg, "polling")
    code = await invitation(database_url)
    lan = tg.user(id=5005, first_name="Lan")
    async with running(settings, tg):
        await lan.send_text(f"/start {code}")
        await lan.wait_reply(1)
        await lan.press("📝 Gửi phản ánh")
        await lan.wait_reply(1)
        await lan.press("Vệ sinh môi trường")
        await lan.wait_reply(1)
    async with running(settings, tg):
        await lan.press("✅ Đúng, Phường Bồ Đề")
        [place] = await lan.wait_reply(1, timeout=10)
        assert "Bước 3/6" in place.plain
        for text, answers in (("Ngõ 9", 2), ("Cống tắc", 1)):
            await lan.send_text(text)
            await lan.wait_reply(answers)
        for label in ("✅ Xong", "Bình thường", "📨 Gửi"):
            await lan.press(label)
            await lan.wait_reply(1)
    [report] = await stored_reports(database_url)
    assert report["category"] == "ve-sinh-moi-truong" and report["address"] == "Ngõ 9"


async def test_a_429_on_send_still_delivers_the_reply_once(
    tg: FakeTelegram, clean_database_url: str, tmp_path: Path
) -> None:
    database_url = clean_database_url
    settings = service_settings(database_url, tmp_path, tg, "polling")
    async with running(settings, tg):
        tg.fail_next("sendMessage", status=429, retry_after=1)
        bao = tg.user(id=5006, first_name="Bảo")
        await bao.send_text("/start")
        [greeting] = await bao.wait_reply(1, timeout=10)
        await asyncio.sleep(0.5)
    assert "người dân" in greeting.plain
    assert len(tg.texts(5006)) == 1
    assert len(tg.calls("sendMessage")) == 2  # the refused attempt and the delivered one


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ("sticker", "chưa đọc được"),
        ("document", "chưa đọc được"),
        ("long_text", "tối đa 2000"),
        ("stale_button", "tin nhắn cũ"),
        ("forged_button", "không hợp lệ"),
    ],
)
async def test_bad_input_is_explained_and_changes_nothing(
    tg: FakeTelegram, clean_database_url: str, tmp_path: Path, action: str, expected: str
) -> None:
    database_url = clean_database_url
    settings = service_settings(database_url, tmp_path, tg, "polling")
    code = await invitation(database_url)
    async with running(settings, tg):
        lan = tg.user(id=5007, first_name="Lan")
        await lan.send_text(f"/start {code}")
        await lan.wait_reply(1)
        await lan.press("📝 Gửi phản ánh")
        [first] = await lan.wait_reply(1)
        await lan.press("Khác")
        await lan.wait_reply(1)
        await lan.press("✅ Đúng, Phường Bồ Đề")
        await lan.wait_reply(1)
        await lan.send_text("Ngõ 1")
        _, asked = await lan.wait_reply(2)  # "address noted", then the question
        if action == "sticker":
            await lan.send_sticker()
        elif action == "document":
            await lan.send_document(b"%PDF", "a.pdf", "application/pdf")
        elif action == "long_text":
            await lan.send_text("chữ " * 600)
        elif action == "stale_button":
            await lan.press("Trật tự đô thị", message_id=first.message_id)
        else:
            token = (asked.buttons[0][0].callback_data or "").split(":")[1]
            await lan.press_data(f"s:{token}:description:../../etc")
        [answer] = await lan.wait_reply(1)
    assert expected in answer.plain and "Bước 4/6" in answer.plain
    assert await stored_reports(database_url) == []


async def test_the_token_never_reaches_the_logs(
    tg: FakeTelegram, clean_database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    database_url = clean_database_url
    from bot.logs import RedactSecrets

    settings: Settings = service_settings(database_url, tmp_path, tg, "polling")
    redact = RedactSecrets(settings.secrets())
    caplog.handler.addFilter(redact)
    caplog.set_level(logging.DEBUG)
    async with running(settings, tg):
        tg.fail_next("sendMessage", status=500, times=2)
        tg.fail_next("getUpdates", status=502, times=1)
        bao = tg.user(id=5008, first_name="Bảo")
        await bao.send_text("/start")
        await bao.wait_reply(1, timeout=15)
    secret_part = tg.token.split(":", 1)[1]
    logged = caplog.text + "".join(r.getMessage() for r in caplog.records)
    assert caplog.records and secret_part not in caplog.text
    assert "***" in logged or secret_part not in logged
