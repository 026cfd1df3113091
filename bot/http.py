"""The service's HTTP server: health, the platforms' webhooks, and signed links to stored media."""

from __future__ import annotations

import asyncio

from aiohttp import web
from aiohttp.typedefs import Handler

from bot.app import App
from bot.telegram.webhook import webhook_handler
from bot.zalo.media_links import MEDIA_PATH, MediaLinks, is_sha256
from bot.zalo.webhook import WEBHOOK_PATH_ZALO, zalo_webhook_handler
from domain.ports import MediaStore

WEBHOOK_PATH_TELEGRAM = "/webhooks/telegram"
__all__ = ["WEBHOOK_PATH_TELEGRAM", "WEBHOOK_PATH_ZALO", "build_web_app", "channel_states"]

_IMAGE_TYPES = ((b"\xff\xd8", "image/jpeg"), (b"\x89PNG", "image/png"), (b"GIF8", "image/gif"))


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
    zalo = app.zalo
    if zalo is not None and app.settings.zalo_mode == "webhook":
        zalo_secret = app.settings.zalo_webhook_secret
        assert zalo_secret is not None  # Settings refuses webhook mode without one
        web_app.router.add_post(
            WEBHOOK_PATH_ZALO,
            zalo_webhook_handler(zalo.translator, app.conversation, zalo_secret.get_secret_value()),
        )
    if zalo is not None and zalo.links is not None:
        web_app.router.add_get(MEDIA_PATH + "{sha}", media_handler(zalo.links, app.media))
    return web_app


def media_handler(links: MediaLinks, media: MediaStore) -> Handler:
    """GET /media/<sha256>?exp=&sig=: 403 unless signed and unexpired, then 404 if not stored."""

    async def serve_media(request: web.Request) -> web.Response:
        sha = request.match_info["sha"]
        exp, sig = request.query.get("exp", ""), request.query.get("sig", "")
        if not links.allows(sha, exp, sig):
            raise web.HTTPForbidden(text="forbidden")
        path = media.path(sha) if is_sha256(sha) else None
        if path is None or not path.is_file():
            raise web.HTTPNotFound(text="not found")
        data = await asyncio.to_thread(path.read_bytes)
        return web.Response(
            body=data,
            content_type=_content_type(data),
            headers={"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"},
        )

    return serve_media


def _content_type(data: bytes) -> str:
    for magic, mime in _IMAGE_TYPES:
        if data.startswith(magic):
            return mime
    return "application/octet-stream"


def channel_states(app: App) -> dict[str, str]:
    states = {"telegram": "off", "zalo": "off"}
    if app.telegram is not None:
        states["telegram"] = app.settings.telegram_mode
    if app.zalo is not None:
        states["zalo"] = app.settings.zalo_mode
    return states
