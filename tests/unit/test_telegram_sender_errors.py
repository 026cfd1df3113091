"""A failed send is described without the bot token (it lands in the log, the outbox row's
last_error and the board's /guiloi), with the real aiogram against a misbehaving server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from bot.app import telegram_bot
from bot.outcomes import Retry, RetryPolicy, attempt
from bot.pacing import ChannelPacer
from bot.settings import Settings
from bot.telegram.sender import TelegramSender
from domain.messages import OutboxItem, OutboxStatus, Reply
from storage.media import FileMediaStore
from tests.conversation_harness import MONDAY_9AM

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


@pytest.fixture
async def redirect_loop() -> AsyncIterator[str]:
    """A 'Bot API' that redirects every request to itself: aiohttp's error quotes the URL."""

    async def loop(request: web.Request) -> web.Response:
        raise web.HTTPTemporaryRedirect(str(request.url))

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", loop)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def test_a_network_error_is_told_without_the_token(
    redirect_loop: str, tmp_path: Path
) -> None:
    settings = Settings(telegram_bot_token=TOKEN, telegram_api_base=redirect_loop,
                        _env_file=None)
    bot = telegram_bot(settings)
    sender = TelegramSender(bot, FileMediaStore(tmp_path, 10**6), "📍")
    item = OutboxItem(1, "telegram", "42", Reply("Chào"), OutboxStatus.PENDING, 0, MONDAY_9AM,
                      MONDAY_9AM)
    try:
        outcome = await attempt(sender, item, ChannelPacer.unlimited(), RetryPolicy())
    finally:
        await bot.session.close()
    assert isinstance(outcome, Retry)
    assert "TelegramNetworkError" in outcome.error and "/bot***/sendMessage" in outcome.error
    assert TOKEN.split(":")[1] not in outcome.error
