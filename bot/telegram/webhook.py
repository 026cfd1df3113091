"""`POST /webhooks/telegram`: answered 200 only after the update's transaction committed."""

from __future__ import annotations

import hmac
import logging
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.methods import TelegramMethod
from aiogram.types import Update
from aiohttp import web
from aiohttp.typedefs import Handler
from pydantic import ValidationError

from bot.retry_policy import MAX_OWN_FAILURES, FailureCounter

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def webhook_handler(dispatcher: Dispatcher, bot: Bot, secret: str) -> Handler:
    failures = FailureCounter()

    async def handle(request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "")
        # "surrogateescape": a header that is not UTF-8 is a wrong secret, not a server error.
        if not hmac.compare_digest(given.encode("utf-8", "surrogateescape"), secret.encode()):
            return web.json_response({"ok": False, "error": "forbidden"}, status=403)
        try:
            body = await request.json()
            update = Update.model_validate(without_pressed_keyboard(body), context={"bot": bot})
        except (ValueError, ValidationError):
            return web.json_response({"ok": False, "error": "bad update"}, status=400)
        try:
            result = await dispatcher.feed_update(bot, update)
        except Exception as error:
            if failures.give_up(str(update.update_id), error):
                # As in polling mode: skipped, so that Telegram stops holding back the others.
                log.error("update %s failed %d times on its own; skipped", update.update_id,
                          MAX_OWN_FAILURES, exc_info=True)
                return web.json_response({})
            # Non-2xx makes Telegram deliver the same update again later.
            log.exception("update %s failed; asking Telegram to redeliver", update.update_id)
            return web.json_response({"ok": False}, status=500)
        failures.succeeded(str(update.update_id))
        return web.json_response(response_method(result))

    return handle


def without_pressed_keyboard(body: Any) -> Any:
    """A button press carries the whole message the button was under, keyboard included. Nothing
    reads that keyboard (the press's payload says what was chosen), and turning its buttons into
    aiogram models was half the cost of reading a press (~35 of ~70 µs with nine buttons)."""
    if isinstance(body, dict):
        pressed = body.get("callback_query")
        message = pressed.get("message") if isinstance(pressed, dict) else None
        if isinstance(message, dict):
            message.pop("reply_markup", None)
    return body


def response_method(result: object) -> dict[str, Any]:
    """A Bot API call carried by the webhook's response (Telegram runs it; saves one request).

    Only for calls whose failure loses nothing, like stopping a button's spinner: Telegram
    does not report whether it succeeded.
    """
    if not isinstance(result, TelegramMethod):
        return {}
    fields = result.model_dump(exclude_none=True, warnings=False)
    return {"method": result.__api_method__, **fields}
