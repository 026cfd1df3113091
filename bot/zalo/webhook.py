"""`POST /webhooks/zalo`: answered 200 only after the update's transaction committed.

The secret registered with `setWebhook` comes back in `X-Bot-Api-Secret-Token` (Zalo signs no
body): a request without it, or with another one, is refused with 403 and nothing is stored.
A failed handling answers 500, so Zalo delivers the same event again; a redelivery is harmless.
"""

from __future__ import annotations

import hmac
import json
import logging

from aiohttp import web
from aiohttp.typedefs import Handler

from bot.zalo.client import unwrap_update
from bot.zalo.polling import handle_update
from bot.zalo.translate import ZaloTranslator
from handlers.service import ConversationService

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Bot-Api-Secret-Token"
WEBHOOK_PATH_ZALO = "/webhooks/zalo"


def zalo_webhook_handler(
    translator: ZaloTranslator, conversation: ConversationService, secret: str
) -> Handler:
    async def handle(request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "")
        # "surrogateescape": a header that is not UTF-8 is a wrong secret, not a server error.
        if not hmac.compare_digest(given.encode("utf-8", "surrogateescape"), secret.encode()):
            return web.json_response({"ok": False, "error": "forbidden"}, status=403)
        try:
            body = await request.json()
        except (ValueError, json.JSONDecodeError):
            return web.json_response({"ok": False, "error": "bad update"}, status=400)
        update = unwrap_update(body)
        if update is None:
            log.info("ignoring a Zalo webhook body that is not an update")
            return web.json_response({"ok": True})
        try:
            await handle_update(update, translator, conversation)
        except Exception:
            log.exception("a Zalo update failed; answering 500 so that Zalo redelivers it")
            return web.json_response({"ok": False}, status=500)
        return web.json_response({"ok": True})

    return handle
