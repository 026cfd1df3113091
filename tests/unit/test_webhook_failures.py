"""The webhook asks Telegram to deliver a failed update again, but not forever."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiogram import Bot, Dispatcher, Router
from aiogram.types import Message
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.retry_policy import MAX_OWN_FAILURES as MAX_ATTEMPTS
from bot.telegram.webhook import SECRET_HEADER, webhook_handler

SECRET = "webhook-secret-for-tests"


def update(update_id: int, text: str) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id, "date": 1700000000, "text": text,
            "chat": {"id": 42, "type": "private"},
            "from": {"id": 42, "is_bot": False, "first_name": "Lan"},
        },
    }


Served = tuple[TestClient[Any, Any], Counter[str]]


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    """The webhook over a real aiogram dispatcher; how often each text was handled."""
    handled: Counter[str] = Counter()
    router = Router()

    @router.message()
    async def on_message(message: Message) -> None:
        handled[message.text or ""] += 1
        if message.text == "breaks":
            raise ValueError("a bug in handling this one update")

    dispatcher = Dispatcher(disable_fsm=True)
    dispatcher.include_router(router)
    bot = Bot("123456:TEST-TOKEN-not-used-for-any-call")
    app = web.Application()
    app.router.add_post("/webhooks/telegram", webhook_handler(dispatcher, bot, SECRET))
    async with TestClient(TestServer(app)) as client:
        yield client, handled
    await bot.session.close()


async def post(client: TestClient[Any, Any], body: dict[str, Any]) -> int:
    response = await client.post("/webhooks/telegram", json=body, headers={SECRET_HEADER: SECRET})
    return response.status


async def test_an_update_that_keeps_failing_is_skipped_after_the_last_attempt(
    served: Served,
) -> None:
    client, handled = served
    statuses = [await post(client, update(1, "breaks")) for _ in range(MAX_ATTEMPTS)]
    assert statuses == [500] * (MAX_ATTEMPTS - 1) + [200]
    assert await post(client, update(2, "fine")) == 200
    assert handled == {"breaks": MAX_ATTEMPTS, "fine": 1}


async def test_a_secret_header_that_is_not_utf8_is_refused_not_a_server_error(
    served: Served,
) -> None:
    client, handled = served
    port = client.server.port
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"POST /webhooks/telegram HTTP/1.1\r\nHost: x\r\n"
                 b"X-Telegram-Bot-Api-Secret-Token: \xff\xfe\r\n"
                 b"Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
    await writer.drain()
    status = (await reader.readline()).decode()
    writer.close()
    assert " 403 " in status and not handled
