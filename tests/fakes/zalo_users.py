"""The users' side of the fake Zalo: people who write to the bot.

``user = zalo.user("6ede9afa66b88fe6d6a9", "Lan")`` gives a ``FakeZaloUser`` in its private chat
(chat.id == user id, opaque strings as on Zalo). Every action builds a Zalo update
(``{"event_name": ..., "message": {...}}``, a new random ``message_id``, ``date`` in epoch
milliseconds), hands it to the bot (the getUpdates queue, or a webhook POST with the secret
header, see ``FakeZalo.deliver``) and returns it; ``wait_reply`` then waits for what the bot sent
to that chat since the action.
"""

from __future__ import annotations

import secrets
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.fakes.zalo_api import FakeZalo, ZaloSent

Update = dict[str, Any]


class FakeZaloUser:
    def __init__(self, zalo: FakeZalo, id: str, display_name: str) -> None:
        self.zalo = zalo
        self.id = id
        self.display_name = display_name
        self._mark = len(zalo.sent(id))

    @property
    def chat_id(self) -> str:
        return self.id

    # ---- messages --------------------------------------------------------------------------
    async def send_text(self, text: str) -> Update:
        return await self._send("message.text.received", {"text": text})

    async def send_image(
        self, data: bytes = b"\xff\xd8\xff\xe0zalo-jpeg", *, caption: str | None = None,
        field: str = "photo_url",
    ) -> Update:
        """The fake serves ``data`` at a URL of its own; ``field`` is "photo_url" (live) or
        "photo" (documented)."""
        content: dict[str, Any] = {field: self.zalo.host_file(data, "image/jpeg")}
        if caption is not None:
            content["caption"] = caption
        return await self._send("message.image.received", content)

    async def send_voice(self, data: bytes | None = b"fake-aac") -> Update:
        content = {} if data is None else {"voice_url": self.zalo.host_file(data, "audio/aac")}
        return await self._send("message.voice.received", content)

    async def send_sticker(self, sticker: str = "bfe458bf64fa8da4d4eb") -> Update:
        return await self._send(
            "message.sticker.received", {"sticker": sticker, "url": "https://zalo.me/s.png"}
        )

    async def send_unsupported(self) -> Update:
        return await self._send("message.unsupported.received", {})

    async def send_event(self, event_name: str, content: dict[str, Any]) -> Update:
        """Any event, e.g. one the bot does not know."""
        return await self._send(event_name, content)

    # ---- what the bot answered -------------------------------------------------------------
    def mark(self) -> None:
        """Count only what the bot sends from now on."""
        self._mark = len(self.zalo.sent(self.id))

    async def wait_reply(self, count: int = 1, timeout: float = 10.0) -> list[ZaloSent]:
        """The next ``count`` messages the bot sent to this chat since the last action."""
        start = self._mark
        await self.zalo.wait_for(
            lambda: len(self.zalo.sent(self.id)) >= start + count, timeout=timeout,
            what=f"{count} message(s) to {self.display_name}",
        )
        self._mark = start + count
        return self.zalo.sent(self.id)[start : start + count]

    def texts(self) -> list[str]:
        return self.zalo.texts(self.id)

    # ---- internals -------------------------------------------------------------------------
    def update(self, event_name: str, content: dict[str, Any]) -> Update:
        message: dict[str, Any] = {
            "from": {"id": self.id, "display_name": self.display_name, "is_bot": False},
            "chat": {"id": self.id, "chat_type": "PRIVATE"},
            "message_id": secrets.token_hex(10),
            "date": int(time.time() * 1000),
            **content,
        }
        return {"event_name": event_name, "message": message}

    async def _send(self, event_name: str, content: dict[str, Any]) -> Update:
        update = self.update(event_name, content)
        self._mark = len(self.zalo.sent(self.id))
        self.zalo.known_chats.add(self.id)
        await self.zalo.deliver(update)
        return update
