"""`SendText` puts on the wire what aiogram's `SendMessage` puts there, and fails the same way
(bot/telegram/send_text.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramRetryAfter
from aiohttp import web

from bot.telegram.keyboards import inline_keyboard, inline_keyboard_json
from bot.telegram.send_text import SendText, SentMessage
from domain.messages import Choice, Reply

TOKEN = "123456:TEST-token-for-send-text"
SENT = {
    "message_id": 77, "date": 1764230400, "text": "Chọn lĩnh vực:",
    "chat": {"id": 1001, "type": "private", "first_name": "Lan"},
    "from": {"id": 42, "is_bot": True, "first_name": "DLXH"},
}


class CapturingBotApi:
    """Records each call's raw form fields; answers `answer` to every call."""

    def __init__(self) -> None:
        self.forms: list[dict[str, str]] = []
        self.answer: tuple[int, dict[str, Any]] = (200, {"ok": True, "result": SENT})

    async def handle(self, request: web.Request) -> web.Response:
        self.forms.append({key: str(value) for key, value in (await request.post()).items()})
        status, body = self.answer
        return web.json_response(body, status=status)


@pytest.fixture
async def api() -> AsyncIterator[tuple[CapturingBotApi, Bot]]:
    capturing = CapturingBotApi()
    app = web.Application()
    app.router.add_post("/bot{token}/{method}", capturing.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    server = TelegramAPIServer.from_base(f"http://127.0.0.1:{port}")
    bot = Bot(TOKEN, session=AiohttpSession(api=server))
    try:
        yield capturing, bot
    finally:
        await bot.session.close()
        await runner.cleanup()


def category_reply() -> Reply:
    choices = (
        Choice("cat:xd", "Trật tự xây dựng"),
        Choice("cat:dt", "Trật tự đô thị"),
        Choice("nav:back", "◀️ Quay lại"),
    )
    return Reply(text="Chọn lĩnh vực:", choices=choices)


async def test_the_form_is_the_one_aiogram_sends(api: tuple[CapturingBotApi, Bot]) -> None:
    capturing, bot = api
    reply = category_reply()
    await bot.send_message(1001, reply.text, reply_markup=inline_keyboard(reply))
    sent = await bot(SendText(chat_id=1001, text=reply.text,
                              reply_markup=inline_keyboard_json(reply)))
    await bot(SendText(chat_id=1001, text="Không có nút"))
    aiogram_form, our_form, plain_form = capturing.forms
    assert our_form == aiogram_form
    assert '"callback_data": "nav:back"' in our_form["reply_markup"]
    assert plain_form == {"chat_id": "1001", "text": "Không có nút"}
    assert sent == SentMessage(message_id=77)


async def test_a_429_is_raised_as_for_aiogram_methods(api: tuple[CapturingBotApi, Bot]) -> None:
    capturing, bot = api
    capturing.answer = (429, {"ok": False, "error_code": 429,
                              "description": "Too Many Requests: retry after 7",
                              "parameters": {"retry_after": 7}})
    with pytest.raises(TelegramRetryAfter) as raised:
        await bot(SendText(chat_id=1001, text="x"))
    assert raised.value.retry_after == 7

