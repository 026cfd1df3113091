"""aiogram objects -> channel-neutral `Incoming` events (photos and voice notes fetched first)."""

from __future__ import annotations

import io
import logging
from dataclasses import replace

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramNotFound
from aiogram.types import CallbackQuery, Message, User

from domain.ports import MediaStore
from domain.reports import Location, MediaKind
from handlers.types import Incoming, Kind

CHANNEL = "telegram"
log = logging.getLogger(__name__)


def _name(user: User | None) -> str:
    if user is None:
        return ""
    return user.full_name or user.username or str(user.id)


class Translator:
    def __init__(self, bot: Bot, media: MediaStore, max_bytes: int) -> None:
        self._bot = bot
        self._media = media
        self._max_bytes = max_bytes

    async def message(self, message: Message, update_id: int) -> Incoming:
        user = message.from_user
        base = Incoming(
            channel=CHANNEL,
            # Telegram reuses update ids after a week of silence; the message id is per chat.
            update_key=f"{update_id}:{message.chat.id}:{message.message_id}",
            chat_id=str(message.chat.id),
            user_id=str(user.id if user else message.chat.id),
            display_name=_name(user),
            kind=Kind.UNSUPPORTED,
        )
        if message.text is not None:
            return replace(base, kind=Kind.TEXT, text=message.text)
        if message.location is not None:
            where = Location(message.location.latitude, message.location.longitude)
            return replace(base, kind=Kind.LOCATION, location=where)
        if message.photo:
            return await self._photo(message, base)
        if message.voice is not None:
            voice = message.voice
            mime = voice.mime_type or "audio/ogg"
            return await self._fetch(voice.file_id, voice.file_size, MediaKind.VOICE, mime, base)
        return base

    def callback(self, callback: CallbackQuery, update_id: int) -> Incoming:
        # Answers go to the presser's own chat, also for a card pressed in the board's group:
        # the steps that follow (a reason, a date) are typed there.
        message = callback.message
        private = message is not None and message.chat.type == "private"
        chat_id = message.chat.id if message is not None and private else callback.from_user.id
        return Incoming(
            channel=CHANNEL,
            update_key=f"{update_id}:cb:{callback.id}",
            chat_id=str(chat_id),
            user_id=str(callback.from_user.id),
            display_name=_name(callback.from_user),
            kind=Kind.CHOICE,
            payload=callback.data or "",
        )

    async def _photo(self, message: Message, base: Incoming) -> Incoming:
        sizes = message.photo or []
        fitting = [p for p in sizes if (p.file_size or 0) <= self._max_bytes]
        if not fitting:
            return replace(base, kind=Kind.MEDIA_TOO_LARGE)
        best = max(fitting, key=lambda p: p.width * p.height)
        fetched = await self._fetch(
            best.file_id, best.file_size, MediaKind.PHOTO, "image/jpeg", base
        )
        return replace(fetched, text=message.caption or "", album_id=message.media_group_id)

    async def _fetch(
        self, file_id: str, size: int | None, kind: MediaKind, mime: str, base: Incoming
    ) -> Incoming:
        if size is not None and size > self._max_bytes:
            return replace(base, kind=Kind.MEDIA_TOO_LARGE)
        buffer = io.BytesIO()
        try:
            await self._bot.download(file_id, destination=buffer)
        except (TelegramBadRequest, TelegramNotFound):
            # The file is gone or too big for the Bot API: asking again will not help, but the
            # person can send it again. 5xx and timeouts propagate, so the update is retried.
            return replace(base, kind=Kind.MEDIA_FAILED)
        data = buffer.getvalue()
        if len(data) > self._max_bytes:
            return replace(base, kind=Kind.MEDIA_TOO_LARGE)
        stored = self._media.put(data, kind, mime)
        return replace(
            base, kind=Kind.PHOTO if kind is MediaKind.PHOTO else Kind.VOICE, media=stored
        )
