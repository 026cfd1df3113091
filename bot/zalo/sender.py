"""Sends one outbox item to Zalo and reports the outcome in the dispatcher's terms.

Zalo has no buttons: choices become numbered lines (`handlers.render.numbered_text`) and people
type the number. Texts are NFC and cut at 2000 characters between words. Photos go by URL:
Zalo fetches a signed, expiring link to our `/media/` route; without `PUBLIC_URL` there is no such
link, and only the text is sent.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from bot.zalo.client import (
    ZaloClient,
    ZaloError,
    ZaloPermanent,
    ZaloRetryAfter,
    ZaloTemporary,
)
from bot.zalo.media_links import MediaLinks
from domain.delivery import Blocked, PermanentFailure, RetryAfter, TemporaryFailure
from domain.messages import Reply
from domain.ports import MediaStore
from handlers.i18n import Catalog
from handlers.render import numbered_text
from handlers.text import split_text

TEXT_LIMIT = 2000
# sendPhoto takes a `caption` (reference/messaging-platforms.md); no separate limit is documented,
# so the text limit is assumed.
CAPTION_LIMIT = TEXT_LIMIT
_BLOCKED = 403
log = logging.getLogger(__name__)


class ZaloSender:
    def __init__(
        self,
        client: ZaloClient,
        media: MediaStore,
        catalog: Catalog,
        links: MediaLinks | None,
    ) -> None:
        self._client = client
        self._media = media
        self._catalog = catalog
        self._links = links
        self._warned_no_links = False

    async def send(self, chat_id: str, reply: Reply) -> None:
        await _classified(lambda: self._send(chat_id, reply))

    async def _send(self, chat_id: str, reply: Reply) -> None:
        text = numbered_text(reply, self._catalog)
        if reply.documents:
            # Zalo bots cannot send files: a signed, expiring link to each instead (without
            # PUBLIC_URL, no link: the person is told of the file rather than left unaware).
            links = [
                f"📎 {name}: {self._links.url(sha)}" if self._links is not None
                else self._catalog.t("common.document_not_sent", name=name)
                for sha, name in reply.documents
            ]
            if self._links is None:
                self._warn_no_links()
            text = "\n".join([text, *links]).strip()
        urls = [url for sha in reply.photos if (url := self._photo_url(sha)) is not None]
        if len(urls) == 1 and text.strip() and len(text) <= CAPTION_LIMIT:
            # One photo and a short text (a broadcast copy, typically): ONE sendPhoto with the
            # text as caption, so a retry never sends half of the message again.
            await self._client.send_photo(chat_id, urls[0], caption=text)
            return
        for url in urls:
            await self._client.send_photo(chat_id, url)
        if not text.strip():
            return
        for piece in split_text(text, TEXT_LIMIT):
            await self._client.send_message(chat_id, piece)

    def _warn_no_links(self) -> None:
        if not self._warned_no_links:
            log.warning("PUBLIC_URL is not set: photos and files cannot be sent to Zalo, only "
                        "texts")
            self._warned_no_links = True

    def _photo_url(self, sha: str) -> str | None:
        """The signed link Zalo fetches the photo from; None when it cannot be sent."""
        if self._links is None:
            self._warn_no_links()
            return None
        try:
            present = self._media.path(sha).exists()
        except ValueError:
            present = False
        if not present:
            log.warning("photo %s is not in the media store; sending the text only", sha[:12])
            return None
        return self._links.url(sha)


async def _classified(call: Callable[[], Awaitable[None]]) -> None:
    try:
        await call()
    except ZaloRetryAfter as error:
        raise RetryAfter(error.retry_after, "zalo 429: " + error.description) from None
    except ZaloTemporary as error:
        raise TemporaryFailure(str(error)) from None
    except ZaloPermanent as error:
        if error.error_code == 401:
            # Our token is wrong or revoked: keep the message until it is fixed (as on Telegram).
            raise TemporaryFailure(str(error)) from None
        if error.error_code == _BLOCKED:  # the person blocked the bot, or left Zalo
            raise Blocked(str(error)) from None
        raise PermanentFailure(str(error)) from None
    except ZaloError as error:
        raise TemporaryFailure(str(error)) from None
