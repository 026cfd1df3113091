"""Zalo Bot Platform updates -> channel-neutral `Incoming` events (images fetched first).

Zalo has no update id: the idempotency key is `event_name:message_id`. Texts are normalised to
NFC. Stickers and content Zalo withholds become `UNSUPPORTED` (the core answers politely);
events we do not know are logged and ignored (None).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from typing import Any

import httpx

from domain.ports import MediaStore
from domain.reports import MediaKind
from handlers.text import nfc
from handlers.types import Incoming, Kind

CHANNEL = "zalo"
TEXT = "message.text.received"
IMAGE = "message.image.received"
VOICE = "message.voice.received"
STICKER = "message.sticker.received"
UNSUPPORTED = "message.unsupported.received"
KNOWN_EVENTS = frozenset({TEXT, IMAGE, VOICE, STICKER, UNSUPPORTED})
_IMAGE_FIELDS = ("photo_url", "photo", "image_url", "url")
_VOICE_FIELDS = ("voice_url", "voice", "audio_url", "url")

log = logging.getLogger(__name__)


class MediaUnavailable(Exception):
    """The platform could not hand us the file right now (5xx, 429): tried again shortly."""


def _field(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def _url(message: dict[str, Any], fields: tuple[str, ...]) -> str | None:
    for name in fields:
        value = message.get(name)
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            return value
    return None


# Pauses between the tries of a file Zalo's server would not give: a few seconds in all, so one
# broken file never holds the chat's channel (polling handles one update at a time).
RETRY_PAUSES = (0.5, 1.0, 2.0)


class ZaloTranslator:
    def __init__(
        self, media: MediaStore, max_bytes: int, http: httpx.AsyncClient,
        retry_pauses: tuple[float, ...] = RETRY_PAUSES,
    ) -> None:
        self._media = media
        self._max_bytes = max_bytes
        self._http = http
        self._retry_pauses = retry_pauses

    async def incoming(self, update: dict[str, Any]) -> Incoming | None:
        """The event of an update, or None for what the conversation core should not see."""
        event = str(update.get("event_name") or "")
        message = _field(update, "message")
        base = self._base(event, message)
        if base is None:
            return None
        if event == TEXT:
            return replace(base, kind=Kind.TEXT, text=nfc(str(message.get("text") or "")))
        if event == IMAGE:
            return await self._image(message, base)
        if event == VOICE:
            url = _url(message, _VOICE_FIELDS)
            if url is None:
                return base
            return await self._fetch(url, MediaKind.VOICE, "audio/aac", base)
        return base  # stickers, withheld content: UNSUPPORTED

    def _base(self, event: str, message: dict[str, Any]) -> Incoming | None:
        if event not in KNOWN_EVENTS:
            log.info("ignoring a Zalo event of unknown kind %r", event[:80])
            return None
        sender, chat = _field(message, "from"), _field(message, "chat")
        chat_id = str(chat.get("id") or sender.get("id") or "")
        if not chat_id:
            log.warning("ignoring a Zalo %s event without a chat id", event)
            return None
        if str(chat.get("chat_type") or "PRIVATE").upper() != "PRIVATE" or sender.get("is_bot"):
            return None  # group chats and bots only receive notifications
        message_id = str(message.get("message_id") or f"{chat_id}:{message.get('date', '')}")
        return Incoming(
            channel=CHANNEL,
            update_key=f"{event}:{message_id}",
            chat_id=chat_id,
            user_id=str(sender.get("id") or chat_id),
            display_name=nfc(str(sender.get("display_name") or sender.get("name") or "")),
            kind=Kind.UNSUPPORTED,
        )

    async def _image(self, message: dict[str, Any], base: Incoming) -> Incoming:
        url = _url(message, _IMAGE_FIELDS)
        if url is None:
            log.warning("a Zalo image without a URL (%s)", base.update_key)
            return base
        fetched = await self._fetch(url, MediaKind.PHOTO, "image/jpeg", base)
        return replace(fetched, text=nfc(str(message.get("caption") or "")))

    async def _fetch(self, url: str, kind: MediaKind, mime: str, base: Incoming) -> Incoming:
        """The file stored; MEDIA_FAILED ("send it again") when Zalo's server would not give
        it after a few tries or sent something else than a picture or a sound."""
        fetched = await self._download_patiently(url, base)
        if fetched is None:
            return replace(base, kind=Kind.MEDIA_FAILED)
        data, content_type = fetched
        if data is None:
            return replace(base, kind=Kind.MEDIA_TOO_LARGE)
        if not data:
            return base  # gone or refused: nothing to store, answered as unsupported
        family = content_type.split("/")[0]
        if family in ("text", "application") and "octet" not in content_type:
            return replace(base, kind=Kind.MEDIA_FAILED)  # an error page, not the photo
        usable = family in ("image", "audio")
        stored = self._media.put(data, kind, content_type if usable else mime)
        return replace(
            base, kind=Kind.PHOTO if kind is MediaKind.PHOTO else Kind.VOICE, media=stored
        )

    async def _download_patiently(
        self, url: str, base: Incoming
    ) -> tuple[bytes | None, str] | None:
        for pause in (*self._retry_pauses, None):
            try:
                return await self._download(url)
            except (httpx.InvalidURL, ValueError) as error:  # no URL at all: no use trying again
                reason = f"{type(error).__name__}"
                break
            except (httpx.HTTPError, MediaUnavailable) as error:
                reason = f"{type(error).__name__}: {error}"
            if pause is not None:
                await asyncio.sleep(pause)
        log.warning("a Zalo file could not be fetched (%s): %s", base.update_key, reason)
        return None

    async def _download(self, url: str) -> tuple[bytes | None, str]:
        """(data, content type); None when over the size limit, b"" when refused for good."""
        async with self._http.stream("GET", url, follow_redirects=True) as response:
            if response.status_code >= 500 or response.status_code == 429:
                raise MediaUnavailable(f"fetching a Zalo file: HTTP {response.status_code}")
            if response.status_code != 200:
                log.warning("a Zalo file could not be fetched: HTTP %s", response.status_code)
                return b"", ""
            declared = response.headers.get("content-length", "")
            if declared.isdecimal() and int(declared) > self._max_bytes:
                return None, ""
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > self._max_bytes:
                    return None, ""
                chunks.append(chunk)
            content_type = response.headers.get("content-type", "").split(";")[0].strip()
            return b"".join(chunks), content_type
