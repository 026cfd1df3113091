"""The reference for bench.ingest: a bare aiogram 3 echo bot behind aiogram's webhook handler.

Run as its own process (``python bench/echo_bot.py``) with the service's environment names:
TELEGRAM_BOT_TOKEN, TELEGRAM_API_BASE, TELEGRAM_WEBHOOK_SECRET, HTTP_PORT (HTTP_HOST defaults
to 127.0.0.1). Serves ``POST /webhooks/telegram`` (secret header checked by aiogram) and
``GET /healthz``; SIGTERM/SIGINT stop it cleanly.
"""

from __future__ import annotations

import os

from aiogram import Bot, Dispatcher, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import CallbackQuery, Message
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web

WEBHOOK_PATH = "/webhooks/telegram"


def build_router() -> Router:
    router = Router(name="echo")

    @router.message()
    async def echo(message: Message) -> None:
        await message.answer(message.text or "ok")

    @router.callback_query()
    async def pressed(callback: CallbackQuery) -> None:
        if callback.message is not None:
            await callback.message.answer(callback.data or "ok")
        await callback.answer()

    return router


def build_bot() -> Bot:
    server = TelegramAPIServer.from_base(os.environ["TELEGRAM_API_BASE"].rstrip("/"))
    return Bot(os.environ["TELEGRAM_BOT_TOKEN"], session=AiohttpSession(api=server))


def build_web_app(bot: Bot, dispatcher: Dispatcher, secret: str) -> web.Application:
    app = web.Application()

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app.router.add_get("/healthz", healthz)
    SimpleRequestHandler(
        dispatcher, bot, handle_in_background=False, secret_token=secret
    ).register(app, path=WEBHOOK_PATH)
    setup_application(app, dispatcher, bot=bot)  # the handler closes the session on shutdown
    return app


def main() -> None:
    dispatcher = Dispatcher()
    dispatcher.include_router(build_router())
    app = build_web_app(build_bot(), dispatcher, os.environ["TELEGRAM_WEBHOOK_SECRET"])
    host = os.environ.get("HTTP_HOST", "127.0.0.1")
    web.run_app(app, host=host, port=int(os.environ["HTTP_PORT"]), print=None)


if __name__ == "__main__":
    main()
