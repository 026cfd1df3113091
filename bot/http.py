"""The service's HTTP server: health and the platforms' webhooks."""

from __future__ import annotations

from aiohttp import web

from bot.app import App
from bot.telegram.webhook import webhook_handler

WEBHOOK_PATH_TELEGRAM = "/webhooks/telegram"


def build_web_app(app: App) -> web.Application:
    web_app = web.Application(client_max_size=2 * 1024 * 1024)

    async def healthz(request: web.Request) -> web.Response:
        try:
            await app.database.ping()
        except Exception:
            return web.json_response({"status": "error", "database": "unreachable"}, status=503)
        return web.json_response(
            {"status": "ok", "database": "ok", "channels": channel_states(app)}
        )

    web_app.router.add_get("/healthz", healthz)
    telegram = app.telegram
    if telegram is not None and app.settings.telegram_mode == "webhook":
        secret = app.settings.telegram_webhook_secret
        assert secret is not None  # Settings refuses webhook mode without one
        handler = webhook_handler(telegram.dispatcher, telegram.bot, secret.get_secret_value())
        web_app.router.add_post(WEBHOOK_PATH_TELEGRAM, handler)
    return web_app


def channel_states(app: App) -> dict[str, str]:
    states = {"telegram": "off", "zalo": "off"}
    if app.telegram is not None:
        states["telegram"] = app.settings.telegram_mode
    return states
