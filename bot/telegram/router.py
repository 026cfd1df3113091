"""aiogram routes: every message and button press goes to the one conversation core."""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.methods import AnswerCallbackQuery
from aiogram.types import CallbackQuery, Message, Update

from bot.telegram.translate import Translator
from handlers.service import ConversationService

log = logging.getLogger(__name__)


def build_router(translator: Translator, conversation: ConversationService) -> Router:
    router = Router(name="telegram-conversation")

    @router.message()
    async def on_message(message: Message, event_update: Update) -> None:
        if message.chat.type != "private":
            return  # group chats only receive notifications (the board group, later)
        await conversation.handle(await translator.message(message, event_update.update_id))

    @router.callback_query()
    async def on_button(callback: CallbackQuery, event_update: Update) -> AnswerCallbackQuery:
        await conversation.handle(translator.callback(callback, event_update.update_id))
        # Only stops the button's spinner (the answer itself is in the outbox): returned, it
        # rides on the webhook's HTTP response; in polling mode it is called after the commit.
        return callback.answer()

    return router
