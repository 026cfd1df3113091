"""The service's aiogram session (bot/telegram/session.py) against the fake Bot API: a call that
uploads nothing goes as one JSON body, a file as aiogram's multipart form; answers and errors
read exactly as with aiogram's own session."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramForbiddenError, TelegramNetworkError, TelegramRetryAfter
from aiogram.types import BufferedInputFile, InlineKeyboardButton, InlineKeyboardMarkup

from bot.telegram.session import JsonBodySession
from tests.fakes.telegram_api import FakeTelegram

KEYBOARD = InlineKeyboardMarkup(inline_keyboard=[[
    InlineKeyboardButton(text="✅ Đúng, Phường Bồ Đề", callback_data="i:ward:bo-de"),
    InlineKeyboardButton(text="Chọn phường khác", callback_data="i:ward:other"),
]])


@pytest.fixture
async def bot(tg: FakeTelegram) -> AsyncIterator[Bot]:
    session = JsonBodySession(api=TelegramAPIServer.from_base(tg.base_url))
    bot = Bot(tg.token, session=session)
    yield bot
    await bot.session.close()


async def test_a_message_with_buttons_goes_as_json_and_arrives_whole(
    tg: FakeTelegram, bot: Bot
) -> None:
    sent = await bot.send_message(7, "Phản ánh của bạn ở phường nào?", reply_markup=KEYBOARD)
    [call] = tg.requests
    assert (call.method, call.encoding) == ("sendMessage", "json")
    [message] = tg.sent(7)
    assert message.plain == "Phản ánh của bạn ở phường nào?"
    assert message.buttons == [[("✅ Đúng, Phường Bồ Đề", "i:ward:bo-de"),
                                ("Chọn phường khác", "i:ward:other")]]
    assert sent.message_id == message.message_id  # the answer reads as aiogram's Message


async def test_a_photo_goes_as_multipart(tg: FakeTelegram, bot: Bot) -> None:
    photo = BufferedInputFile(b"\xff\xd8a-photo", "anh.jpg")
    await bot.send_photo(7, photo, caption="Ảnh hiện trường", reply_markup=KEYBOARD)
    [call] = tg.requests
    assert (call.method, call.encoding) == ("sendPhoto", "multipart")
    [message] = tg.sent(7)
    assert message.plain == "Ảnh hiện trường" and len(message.file_ids) == 1


async def test_errors_read_as_with_aiogram_s_own_session(tg: FakeTelegram, bot: Bot) -> None:
    tg.fail_next("sendMessage", status=429, retry_after=3)
    with pytest.raises(TelegramRetryAfter) as limited:
        await bot.send_message(7, "Thử lại sau")
    assert limited.value.retry_after == 3
    tg.block(8)
    with pytest.raises(TelegramForbiddenError):
        await bot.send_message(8, "Bị chặn")
    assert tg.sent(7) == [] and tg.sent(8) == []


async def test_an_unreachable_server_is_a_network_error(tg: FakeTelegram) -> None:
    session = JsonBodySession(api=TelegramAPIServer.from_base("http://127.0.0.1:9"))
    bot = Bot(tg.token, session=session)
    try:
        with pytest.raises(TelegramNetworkError):
            await bot.send_message(7, "Không tới được")
    finally:
        await bot.session.close()
