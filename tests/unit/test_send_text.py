"""`SendText` puts on the wire what aiogram's `SendMessage` puts there, and fails the same way
(bot/telegram/send_text.py)."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import pytest
from aiogram import Bot
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramRetryAfter
from aiohttp import web

from bot.telegram.keyboards import inline_keyboard, inline_keyboard_json
from bot.telegram.send_text import BotSession, SendText, SentMessage, form_urlencoded
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
        self.bodies: list[tuple[str, bytes]] = []  # (content type, raw body)
        self.answer: tuple[int, dict[str, Any]] = (200, {"ok": True, "result": SENT})

    async def handle(self, request: web.Request) -> web.Response:
        self.bodies.append((request.content_type, await request.read()))
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
    bot = Bot(TOKEN, session=BotSession(api=server))  # as the service's (bot/app.py)
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
    assert capturing.bodies[1] == capturing.bodies[0]  # byte for byte, same content type
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



def test_the_form_is_encoded_as_urlencode_encodes_it() -> None:
    """`form_urlencoded` is what aiohttp's `urlencode` would send, for any text."""
    pick = random.Random(20261127)
    alphabet = [chr(c) for c in range(0x2FF)] + ["😀", "📝", "\u200b", "€", "\U0001F1FB"]
    alphabet += list("ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ")
    texts = ["", " ", "a b+c&d=e%f/g?h#i~j_k.l-m", "Nhà số 5 xây lấn vỉa hè\n2 tầng",
             inline_keyboard_json(category_reply()) or ""]
    texts += ["".join(pick.choices(alphabet, k=pick.randint(1, 200))) for _ in range(300)]
    for text in texts:
        fields = [("chat_id", "-1001"), ("text", text)]
        assert form_urlencoded(fields) == urlencode(fields, doseq=True).encode(), text
