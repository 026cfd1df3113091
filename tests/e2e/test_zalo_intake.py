"""A collaborator's report over Zalo: the real service against the fake Zalo Bot API server."""

from __future__ import annotations

import asyncio
import logging
import time
import unicodedata
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.zalo.client import ZaloClient
from bot.zalo.media_links import MediaLinks, derive_key
from bot.zalo.sender import ZaloSender
from domain.delivery import PermanentFailure
from domain.messages import Choice, OutboxStatus, Reply
from domain.reports import MediaKind
from handlers.i18n import Catalog
from storage.media import FileMediaStore
from tests.e2e.harness import (
    ZALO_WEBHOOK_SECRET,
    has_identity,
    invitation,
    outbox_items,
    running_zalo,
    stored_reports,
    zalo_settings,
)
from tests.fakes.zalo_api import SECRET_HEADER, FakeZalo
from tests.fakes.zalo_users import FakeZaloUser


async def step(user: FakeZaloUser, action: Awaitable[object]) -> str:
    """Run an action and return the text of the bot's one answer."""
    await action
    [reply] = await user.wait_reply(1)
    assert reply.text is not None
    return reply.text


async def file_report(lan: FakeZaloUser, code: str) -> str:
    joined = await step(lan, lan.send_text(code))  # no /start on Zalo: the code is the message
    assert "cộng tác viên" in joined and "1. 📝 Gửi phản ánh" in joined
    categories = await step(lan, lan.send_text("1"))
    assert "lĩnh vực" in categories and "1. Trật tự xây dựng" in categories
    assert "(Gõ số từ 1 đến 8)" in categories
    assert "Bồ Đề phải không" in await step(lan, lan.send_text("1"))
    place = await step(lan, lan.send_text("1"))
    assert "Bước 3/6" in place and "Gõ địa chỉ" in place  # no location button on Zalo
    assert "Bước 4/6" in await step(lan, lan.send_text("Ngõ 5 Bồ Đề"))
    assert "Bước 5/6" in await step(lan, lan.send_text("Nhà số 5 xây lấn vỉa hè"))
    assert "Đã nhận" in await step(lan, lan.send_image(b"\xff\xd8zalo-one", field="photo_url"))
    assert "Đã nhận" in await step(lan, lan.send_image(b"\xff\xd8zalo-two", field="photo"))
    assert "Bước 6/6" in await step(lan, lan.send_text("xong"))
    summary = await step(lan, lan.send_text("1"))
    assert "Kiểm tra lại" in summary and "Ảnh: 2" in summary
    return await step(lan, lan.send_text("1"))


def assert_zalo_sized(texts: list[str]) -> None:
    for text in texts:
        assert 1 <= len(text) <= 2000 and unicodedata.is_normalized("NFC", text)


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_a_whole_report(
    zalo: FakeZalo, clean_database_url: str, tmp_path: Path, mode: str
) -> None:
    settings = zalo_settings(clean_database_url, tmp_path, zalo, mode)
    code = await invitation(clean_database_url)
    async with running_zalo(settings, zalo) as base:
        async with aiohttp.ClientSession() as session, session.get(base + "/healthz") as r:
            assert (await r.json())["channels"] == {"telegram": "off", "zalo": mode}
        lan = zalo.user("6ede9afa66b88fe6d6a9", "Lan")
        done = await file_report(lan, code)
    [report] = await stored_reports(clean_database_url)
    assert str(report["code"]) in done and "Đã gửi phản ánh" in done
    assert report["status"] == "submitted" and report["photos"] == 2
    assert report["ward"] == "bo-de" and report["category"] == "trat-tu-xay-dung"
    assert report["address"] == "Ngõ 5 Bồ Đề"
    stored = {p.read_bytes() for p in (tmp_path / "media").rglob("*") if p.is_file()}
    assert stored == {b"\xff\xd8zalo-one", b"\xff\xd8zalo-two"}
    assert_zalo_sized(lan.texts())
    if mode == "webhook":
        assert zalo.calls("setWebhook") == [
            {"url": f"{settings.public_url}/webhooks/zalo", "secret_token": ZALO_WEBHOOK_SECRET}
        ]
        assert all(d.status == 200 for d in zalo.deliveries)
    else:
        assert zalo.calls("deleteWebhook")


async def test_flat_bodies_are_understood(
    zalo: FakeZalo, clean_database_url: str, tmp_path: Path
) -> None:
    zalo.flat = True
    for mode in ("polling", "webhook"):
        settings = zalo_settings(clean_database_url, tmp_path, zalo, mode)
        async with running_zalo(settings, zalo):
            bao = zalo.user(f"flat-{mode}", "Bảo")
            assert "người dân" in await step(bao, bao.send_text("/start"))


async def test_a_redelivered_event_makes_one_report(
    zalo: FakeZalo, clean_database_url: str, tmp_path: Path
) -> None:
    settings = zalo_settings(clean_database_url, tmp_path, zalo, "webhook")
    code = await invitation(clean_database_url)
    async with running_zalo(settings, zalo):
        lan = zalo.user("a1b2c3d4e5f6a7b8c9d0", "Lan")
        for text in (code, "1", "6", "1", "Chợ Long Biên", "Lấn chiếm lòng đường", "1", "2"):
            await step(lan, lan.send_text(text))
        send = await lan.send_text("1")
        await lan.wait_reply(1)
        for _ in range(2):
            assert await zalo.post_update(send) == 200
        await asyncio.sleep(0.3)
    assert len(await stored_reports(clean_database_url)) == 1
    assert len([t for t in lan.texts() if "Đã gửi phản ánh" in t]) == 1


async def test_wrong_or_missing_secret_is_refused_and_stores_nothing(
    zalo: FakeZalo, clean_database_url: str, tmp_path: Path
) -> None:
    settings = zalo_settings(clean_database_url, tmp_path, zalo, "webhook")
    async with running_zalo(settings, zalo) as base:
        url = base + "/webhooks/zalo"
        stranger = zalo.user("stranger0000000000", "Kẻ lạ")
        update = stranger.update("message.text.received", {"text": "/start"})
        zalo.known_chats.add(stranger.id)
        async with aiohttp.ClientSession() as session:
            for headers in ({}, {SECRET_HEADER: "wrong-secret-123"}, {SECRET_HEADER: ""}):
                async with session.post(url, json=zalo.wrap(update), headers=headers) as r:
                    assert r.status == 403
        await asyncio.sleep(0.3)
        assert stranger.texts() == []
        assert not await has_identity(clean_database_url, "zalo", stranger.id)
        assert await zalo.post_update(update, url=url) == 200
        await stranger.wait_reply(1)
        await asyncio.sleep(0.2)
    assert len(stranger.texts()) == 1


async def test_ok_false_500_is_retried_and_delivered_once(
    zalo: FakeZalo, clean_database_url: str, tmp_path: Path
) -> None:
    settings = zalo_settings(clean_database_url, tmp_path, zalo, "polling")
    async with running_zalo(settings, zalo):
        zalo.fail_next("sendMessage", error_code=500, http_status=200)
        bao = zalo.user("bao00000000000000001", "Bảo")
        greeting = await step(bao, bao.send_text("/start"))
        await asyncio.sleep(0.3)
    assert "người dân" in greeting and len(bao.texts()) == 1
    assert len(zalo.calls("sendMessage")) == 2  # the refused attempt and the delivered one
    [item] = await outbox_items(clean_database_url)
    assert item.status is OutboxStatus.SENT and item.attempts == 1


async def test_ok_false_403_is_recorded_as_failed_and_not_retried(
    zalo: FakeZalo, clean_database_url: str, tmp_path: Path
) -> None:
    settings = zalo_settings(clean_database_url, tmp_path, zalo, "polling")
    async with running_zalo(settings, zalo):
        zalo.fail_next("sendMessage", error_code=403, http_status=200)
        bao = zalo.user("bao00000000000000002", "Bảo")
        await bao.send_text("/start")
        for _ in range(100):
            items = await outbox_items(clean_database_url)
            if items and items[0].status is not OutboxStatus.PENDING:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.5)  # long enough for a retry, had there been one
        assert len(zalo.calls("sendMessage")) == 1 and bao.texts() == []
        assert "người dân" in await step(bao, bao.send_text("/start"))  # the next one goes out
    first = (await outbox_items(clean_database_url))[0]
    assert first.status is OutboxStatus.FAILED and "403" in (first.last_error or "")


@pytest.mark.parametrize("action", ["sticker", "unsupported", "voice_without_url"])
async def test_what_the_bot_cannot_read_is_answered_politely(
    zalo: FakeZalo, clean_database_url: str, tmp_path: Path, action: str
) -> None:
    settings = zalo_settings(clean_database_url, tmp_path, zalo, "polling")
    code = await invitation(clean_database_url)
    async with running_zalo(settings, zalo):
        lan = zalo.user("lan00000000000000003", "Lan")
        for text in (code, "1", "6", "1", "Ngõ 1"):
            await step(lan, lan.send_text(text))
        actions: dict[str, Any] = {
            "sticker": lan.send_sticker,
            "unsupported": lan.send_unsupported,
            "voice_without_url": lambda: lan.send_voice(None),
        }
        answer = await step(lan, actions[action]())
        # Outside a report the same events get the menu with a "not understood".
        other = zalo.user("lan00000000000000013", "Bảo")
        outside = await step(other, other.send_sticker())
    assert "chưa đọc được" in answer and "Bước 4/6" in answer
    assert "chưa hiểu" in outside
    assert await stored_reports(clean_database_url) == []


async def test_unknown_events_are_ignored(
    zalo: FakeZalo, clean_database_url: str, tmp_path: Path
) -> None:
    settings = zalo_settings(clean_database_url, tmp_path, zalo, "polling")
    async with running_zalo(settings, zalo):
        lan = zalo.user("lan00000000000000004", "Lan")
        await lan.send_event("message.reaction.received", {"reaction": "❤️"})
        await asyncio.sleep(0.3)
        assert lan.texts() == []
        assert "người dân" in await step(lan, lan.send_text("/start"))


# ---- what the bot sends: long texts, photos by signed link ------------------------------------


def zalo_sender(zalo: FakeZalo, tmp_path: Path, links: MediaLinks | None) -> ZaloSender:
    client = ZaloClient(zalo.token, zalo.base_url)
    return ZaloSender(client, FileMediaStore(tmp_path / "media", 1 << 20), Catalog("vi"), links)


async def test_a_3000_character_reply_is_split_between_words_in_nfc(
    zalo: FakeZalo, tmp_path: Path
) -> None:
    zalo.known_chats.add("chat-long")
    words = ["Phường", "Bồ", "Đề", "phản", "ánh", "việc", "lấn", "chiếm", "vỉa", "hè", "dài"]
    text = " ".join(words[i % len(words)] + str(i) for i in range(420))
    decomposed = unicodedata.normalize("NFD", text)
    assert 2900 < len(text) <= 3000 and len(decomposed) > len(text) + 200
    choices = (Choice("a", "Có"), Choice("b", "Không"))
    await zalo_sender(zalo, tmp_path, None).send("chat-long", Reply(decomposed, choices))
    pieces = zalo.texts("chat-long")
    assert len(pieces) == 2
    assert_zalo_sized(pieces)
    assert " ".join(pieces).split() == (text + "\n\n1. Có\n2. Không\n(Gõ số từ 1 đến 2)").split()
    assert pieces[1].endswith("1. Có\n2. Không\n(Gõ số từ 1 đến 2)")


async def test_media_links_are_signed_and_expire(
    zalo: FakeZalo, clean_database_url: str, tmp_path: Path
) -> None:
    settings = zalo_settings(clean_database_url, tmp_path, zalo, "polling")
    store = FileMediaStore(tmp_path / "media", 1 << 20)
    sha = store.put(b"\xff\xd8scene", MediaKind.PHOTO, "image/jpeg").sha256
    other = store.put(b"\xff\xd8other", MediaKind.PHOTO, "image/jpeg").sha256
    assert settings.public_url is not None
    key = derive_key(None, zalo.token)
    links = MediaLinks(settings.public_url, key, 600)
    expired = MediaLinks(settings.public_url, key, 600, clock=lambda: time.time() - 3600)
    stranger = MediaLinks(settings.public_url, b"another key", 600)
    async with running_zalo(settings, zalo) as base, aiohttp.ClientSession() as http:

        async def status(url: str) -> int:
            async with http.get(url) as response:
                return response.status

        good = links.url(sha)
        async with http.get(good) as response:
            assert response.status == 200 and await response.read() == b"\xff\xd8scene"
            assert response.content_type == "image/jpeg"
        assert await status(expired.url(sha)) == 403
        assert await status(stranger.url(sha)) == 403
        assert await status(good.replace(sha, other)) == 403  # a signature is for one file
        assert await status(good[:-1] + ("0" if good[-1] != "0" else "1")) == 403
        assert await status(good.replace("exp=", "exp=9")) == 403  # a longer life, unsigned
        assert await status(f"{base}/media/{sha}") == 403  # guessing the digest is not enough
        assert await status(f"{base}/media/{sha}?exp=%C2%B2&sig=x") == 403  # "²" is no number
        assert await status(links.url("0" * 64)) == 404
        assert await status(f"{base}/media/..%2F..%2Fetc%2Fpasswd?exp=1&sig=x") in (403, 404)

        # The sender hands Zalo a fresh link, and Zalo (the fake) fetches the photo through it.
        zalo.known_chats.add("chat-photo")
        await zalo_sender(zalo, tmp_path, links).send("chat-photo", Reply("Ảnh", photos=(sha,)))
        [photo] = zalo.sent("chat-photo")  # one call: the text rides as the caption
        assert photo.method == "sendPhoto" and photo.photo == b"\xff\xd8scene"
        assert photo.text == "Ảnh"
        with pytest.raises(PermanentFailure):  # an expired link fails as it would on Zalo
            await zalo_sender(zalo, tmp_path, expired).send("chat-photo", Reply("x", photos=(sha,)))


async def test_without_public_url_photos_are_left_out(zalo: FakeZalo, tmp_path: Path) -> None:
    zalo.known_chats.add("chat-text")
    store = FileMediaStore(tmp_path / "media", 1 << 20)
    sha = store.put(b"\xff\xd8scene", MediaKind.PHOTO, "image/jpeg").sha256
    await zalo_sender(zalo, tmp_path, None).send("chat-text", Reply("Chỉ chữ", photos=(sha,)))
    assert [m.method for m in zalo.sent("chat-text")] == ["sendMessage"]
    # A file (the monthly workbook) cannot go either: she is told of it, not left unaware.
    book = Reply("", documents=((sha, "bao-cao-thang-2026-10.xlsx"),))
    await zalo_sender(zalo, tmp_path, None).send("chat-text", book)
    assert "bao-cao-thang-2026-10.xlsx: Zalo không nhận gửi tệp" in zalo.texts("chat-text")[-1]


async def test_the_token_never_reaches_the_logs(
    zalo: FakeZalo, clean_database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # and no redacting filter: nothing should need redacting
    settings = zalo_settings(clean_database_url, tmp_path, zalo, "polling")
    async with running_zalo(settings, zalo):
        zalo.fail_next("sendMessage", error_code=500, times=2)
        zalo.fail_next("getUpdates", error_code=502)
        bao = zalo.user("bao00000000000000009", "Bảo")
        await bao.send_text("/start")
        await bao.wait_reply(1, timeout=15)
    logged = caplog.text + "".join(r.getMessage() for r in caplog.records)
    assert "failed, will retry" in logged  # the failures were logged...
    assert zalo.token not in logged and zalo.token.split(":")[1] not in logged  # ...not the token


async def test_a_stop_while_an_update_is_handled_loses_nothing(
    zalo: FakeZalo, clean_database_url: str, tmp_path: Path
) -> None:
    """Zalo hands an update over once (getUpdates has no offset): the service stopping while it
    fetches the message's photo finishes the update before it stops."""
    settings = zalo_settings(clean_database_url, tmp_path, zalo, "polling")
    zalo.file_delay = 0.5
    lan = zalo.user(display_name="Lan")
    async with running_zalo(settings, zalo):
        await lan.send_image(b"\xff\xd8slow-cdn")
        await zalo.wait_for(lambda: zalo.file_requests == 1, what="the photo's download")
    assert await has_identity(clean_database_url, "zalo", lan.id)
