"""Keeping aiogram's answer models alive for as long as the bot lives.

aiogram reads every Bot API answer as `Response[T]`, a pydantic generic parametrised on the
call's result type. pydantic caches parametrised generics only weakly: once an answer has been
read nothing holds `Response[Message]` any more, and the next send builds the model again, schema
and all (py-spy of `bench.ingest`: ~7 % of the service's CPU). Holding them ends that.
"""

from __future__ import annotations

from typing import Any

from aiogram.methods import (
    AnswerCallbackQuery,
    DeleteWebhook,
    GetFile,
    GetMe,
    GetUpdates,
    SendDocument,
    SendMediaGroup,
    SendMessage,
    SendPhoto,
    SetWebhook,
    TelegramMethod,
)
from aiogram.methods.base import Response

from bot.telegram.send_text import SendText

# Every Bot API method the service calls (sender, translator, polling, webhook set-up).
CALLED_METHODS: tuple[type[TelegramMethod[Any]], ...] = (
    AnswerCallbackQuery, DeleteWebhook, GetFile, GetMe, GetUpdates,
    SendDocument, SendMediaGroup, SendMessage, SendPhoto, SendText, SetWebhook,
)


def answer_models() -> tuple[type[Any], ...]:
    """`Response[T]` of every called method, built now; whoever keeps the tuple keeps them."""
    generic: Any = Response  # parametrised at run time: mypy cannot check `Response[x]`
    return tuple(generic[method.__returning__] for method in CALLED_METHODS)
