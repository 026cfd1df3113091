"""`sendMessage` as the service uses it: a text, perhaps inline buttons, the answer unread.

aiogram's `SendMessage` takes the keyboard as a model and dumps it back to JSON for the form,
and reads the Bot API's answer into a whole `Message` (chat, sender, the keyboard again): about
a tenth of the service's CPU in `bench.ingest`, for a result the service never looks at (the
outbox records only that the call succeeded). `SendText` is a `TelegramMethod` of our own, sent
through the same `Bot` and session, so errors, 429s and timeouts arrive exactly as for aiogram's
own methods; the form on the wire has the same fields (`tests/unit/test_send_text.py`). It has
no fields for the Bot's defaults (parse mode, link previews): the service's Bot has none, and a
test says so.
"""

from __future__ import annotations

from typing import ClassVar

from aiogram.methods import TelegramMethod
from pydantic import BaseModel, ConfigDict


class SentMessage(BaseModel):
    """What is read of the answer to a sent message: its id, nothing else."""

    model_config = ConfigDict(extra="ignore")
    message_id: int


class SendText(TelegramMethod[SentMessage]):
    __returning__: ClassVar[type[SentMessage]] = SentMessage
    __api_method__: ClassVar[str] = "sendMessage"

    chat_id: int
    text: str
    reply_markup: str | None = None  # already JSON: bot/telegram/keyboards.py
