"""Sends one outbox item through the Bot API and reports the outcome in the dispatcher's terms."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiogram import Bot
from aiogram.exceptions import (
    AiogramError,
    TelegramAPIError,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import BufferedInputFile, InputMediaPhoto

from bot.telegram.keyboards import inline_keyboard, inline_keyboard_json, location_keyboard
from bot.telegram.send_text import SendText
from domain.delivery import Blocked, PermanentFailure, RetryAfter, TemporaryFailure
from domain.messages import Reply
from domain.ports import MediaStore
from handlers.text import split_text, utf16_length

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024  # Telegram counts UTF-16 code units
log = logging.getLogger(__name__)
ALBUM_LIMIT = 10
REMOVE_KEYBOARD = '{"remove_keyboard":true}'  # the Bot API's ReplyKeyboardRemove


def fits_caption(text: str) -> bool:
    return utf16_length(text) <= CAPTION_LIMIT


class TelegramSender:
    def __init__(self, bot: Bot, media: MediaStore, share_location_label: str) -> None:
        self._bot = bot
        self._media = media
        self._share_label = share_location_label

    async def send(self, chat_id: str, reply: Reply) -> None:
        await _classified(lambda: self._send(int(chat_id), reply), self._bot.token)

    async def _send(self, chat_id: int, reply: Reply) -> None:
        if await self._send_captioned(chat_id, reply):
            return
        if reply.photos:
            await self._send_photos(chat_id, reply.photos)
        for sha, name in reply.documents:
            if self._present(sha):
                document = BufferedInputFile(self._media.read(sha), name)
                await self._bot.send_document(chat_id, document)
        if not reply.text:
            return
        pieces = split_text(reply.text, TEXT_LIMIT, utf16=True)
        for piece in pieces[:-1]:
            await self._bot(SendText(chat_id=chat_id, text=piece))
        if reply.request_location:
            markup = location_keyboard(reply, self._share_label)
            await self._bot.send_message(chat_id, pieces[-1], reply_markup=markup)
        else:
            markup_json = inline_keyboard_json(reply)
            if markup_json is None and reply.hide_keyboard:
                markup_json = REMOVE_KEYBOARD
            await self._bot(SendText(chat_id=chat_id, text=pieces[-1], reply_markup=markup_json))

    async def _send_captioned(self, chat_id: int, reply: Reply) -> bool:
        """One photo with a short text (a broadcast copy, typically) goes as ONE `sendPhoto`
        with the text as its caption and the buttons under it: one API call, so a retry never
        sends half of the message again. False when the reply does not fit that shape."""
        if (
            len(reply.photos) != 1
            or reply.documents
            or reply.request_location
            or not reply.text.strip()
            or not fits_caption(reply.text)
            or not self._present(reply.photos[0])
        ):
            return False
        sha = reply.photos[0]
        photo = BufferedInputFile(self._media.read(sha), f"{sha[:16]}.jpg")
        await self._bot.send_photo(
            chat_id, photo, caption=reply.text, reply_markup=inline_keyboard(reply)
        )
        return True

    async def _send_photos(self, chat_id: int, photos: tuple[str, ...]) -> None:
        files = [
            BufferedInputFile(self._media.read(sha), f"{sha[:16]}.jpg")
            for sha in photos
            if self._present(sha)
        ]
        if not files:
            return
        if len(files) == 1:
            await self._bot.send_photo(chat_id, files[0])
            return
        for start in range(0, len(files), ALBUM_LIMIT):
            group = files[start : start + ALBUM_LIMIT]
            if len(group) == 1:
                await self._bot.send_photo(chat_id, group[0])
            else:
                await self._bot.send_media_group(chat_id, [InputMediaPhoto(media=f) for f in group])


    def _present(self, sha: str) -> bool:
        """A photo missing from the media store is left out (logged); the message still goes."""
        try:
            present: bool = self._media.path(sha).exists()
        except ValueError:
            present = False
        if not present:
            log.warning("photo %s is not in the media store; sending without it", sha[:12])
        return present


async def _classified(call: Callable[[], Awaitable[None]], token: str) -> None:
    """The call's failure in the dispatcher's terms. Its text goes to the log, to the outbox row
    (`last_error`) and to the board's `/guiloi`: an error of aiohttp quotes the request's URL,
    which holds the bot token, so the token is blotted out of every text."""
    try:
        await call()
    except TelegramRetryAfter as error:
        raise RetryAfter(float(error.retry_after), "telegram 429") from None
    except (TelegramServerError, TelegramNetworkError, TelegramUnauthorizedError) as error:
        # 401 means our token is wrong or revoked: keep the message until it is fixed.
        raise TemporaryFailure(_said(error, token)) from None
    except TelegramForbiddenError as error:  # blocked by the user, user deactivated
        raise Blocked(_said(error, token)) from None
    except TelegramAPIError as error:  # 400 bad request, 404 chat not found
        raise PermanentFailure(_said(error, token)) from None
    except AiogramError as error:  # an answer aiogram could not read: perhaps the next one
        raise TemporaryFailure(type(error).__name__) from None
    except (TimeoutError, OSError) as error:
        raise TemporaryFailure(type(error).__name__) from None


def _said(error: TelegramAPIError, token: str) -> str:
    text = type(error).__name__ + ": " + error.message
    return text.replace(token, "***") if token else text
