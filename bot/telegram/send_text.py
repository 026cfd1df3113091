"""`sendMessage` as the service uses it: a text, perhaps inline buttons, the answer unread.

aiogram's `SendMessage` takes the keyboard as a model and dumps it back to JSON for the form,
and reads the Bot API's answer into a whole `Message` (chat, sender, the keyboard again): about
a tenth of the service's CPU in `bench.ingest`, for a result the service never looks at (the
outbox records only that the call succeeded). `SendText` is a `TelegramMethod` of our own, sent
through the same `Bot` and session, so errors, 429s and timeouts arrive exactly as for aiogram's
own methods; the form on the wire is the same, byte for byte (`tests/unit/test_send_text.py`),
encoded by `BotSession` without aiohttp's per-byte quoting. It has no fields for the Bot's
defaults (parse mode, link previews): the service's Bot has none, and a test says so.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import ClassVar

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType
from aiohttp import BytesPayload, FormData, Payload
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

    def form_fields(self) -> Iterator[tuple[str, str]]:
        """The fields aiogram's session would put in the form (empty ones left out)."""
        yield "chat_id", str(self.chat_id)
        if self.text:
            yield "text", self.text
        if self.reply_markup:
            yield "reply_markup", self.reply_markup


_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~")
# Each byte as `urllib.parse.quote_plus` writes it: kept, "+" for a space, else "%XX".
_FORM_BYTE = tuple(
    chr(b) if b in _SAFE else "+" if b == 0x20 else f"%{b:02X}" for b in range(256)
)


def form_urlencoded(fields: Iterable[tuple[str, str]]) -> bytes:
    """`urlencode(fields)` as aiohttp sends a form, byte for byte: its `quote_plus` takes a
    Python call per byte of a Vietnamese text and its keyboard (~3 % of the service's CPU in
    `bench.ingest`), a table lookup here."""
    return "&".join(
        f"{_quoted(name)}={_quoted(value)}" for name, value in fields
    ).encode("ascii")


def _quoted(text: str) -> str:
    return "".join(map(_FORM_BYTE.__getitem__, text.encode()))


class EncodedForm(FormData):
    """A form whose body is already encoded. `FormData`'s own set-up (a multipart writer with
    a random boundary, unused for a form without files) is skipped: aiohttp only calls it."""

    def __init__(self, fields: Iterable[tuple[str, str]]) -> None:
        self._body = BytesPayload(
            form_urlencoded(fields), content_type="application/x-www-form-urlencoded"
        )

    def __call__(self) -> Payload:
        return self._body


class BotSession(AiohttpSession):
    """aiogram's session, with `SendText`'s form encoded by `EncodedForm`."""

    def build_form_data(self, bot: Bot, method: TelegramMethod[TelegramType]) -> FormData:
        if isinstance(method, SendText):
            return EncodedForm(method.form_fields())
        return super().build_form_data(bot, method)
