"""The users' side of the fake Telegram: people who write to the bot and press its buttons.

``user = tg.user(id=1001, first_name="Lan")`` gives a ``FakeUser`` in its private chat
(chat.id == user id); ``user.in_group(-100123, "Title")`` the same person in a group. Every
action builds a real Bot API ``Update`` (increasing ``update_id``), hands it to the bot (getUpdates
queue or webhook POST, see ``FakeTelegram.deliver``) and returns it; ``wait_reply`` then waits for
what the bot sent to that chat since the action.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.fakes.telegram_api import FakeTelegram, SentMessage

Update = dict[str, Any]


class FakeUser:
    def __init__(self, tg: FakeTelegram, *, id: int, first_name: str,
                 username: str | None = None, language_code: str | None = "vi",
                 chat: dict[str, Any] | None = None) -> None:
        self.tg = tg
        self.id = id
        self.first_name = first_name
        self.user: dict[str, Any] = {"id": id, "is_bot": False, "first_name": first_name}
        if username:
            self.user["username"] = username
        if language_code:
            self.user["language_code"] = language_code
        self.chat: dict[str, Any] = chat or {
            "id": id, "type": "private", "first_name": first_name,
            **({"username": username} if username else {}),
        }
        tg.chats[self.chat_id] = self.chat
        self.last_status: int | None = None  # webhook answer to the last action (None: polling)
        self._mark = len(tg.sent(self.chat_id))

    @property
    def chat_id(self) -> int:
        return int(self.chat["id"])

    def in_group(self, chat_id: int = -1001234567890, title: str = "Nhóm thử") -> FakeUser:
        """The same person writing in a group (a supergroup when the id looks like -100…)."""
        kind = "supergroup" if chat_id <= -1_000_000_000_000 else "group"
        return FakeUser(self.tg, id=self.id, first_name=self.first_name,
                        username=self.user.get("username"),
                        language_code=self.user.get("language_code"),
                        chat={"id": chat_id, "type": kind, "title": title})

    # ---- messages --------------------------------------------------------------------------
    async def send_text(self, text: str) -> Update:
        """Also how a reply-keyboard button is pressed: the client sends its label as text."""
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            command = text.split()[0]
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return await self._send_message(content)

    async def send_photo(self, data: bytes = b"\xff\xd8\xff\xe0fake-jpeg", *,
                         caption: str | None = None, media_group_id: str | None = None,
                         sizes: int = 2) -> Update:
        """``sizes=2`` (like Telegram) puts a small thumbnail first; the full photo is last."""
        return await self._send_message(self._photo_content(data, caption, media_group_id, sizes))

    async def send_album(self, photos: Sequence[bytes], caption: str | None = None) -> list[Update]:
        """One update per photo sharing a media_group_id; the caption rides on the first."""
        group = str(10**17 + self.tg.next_id("media_group"))
        self._mark = len(self.tg.sent(self.chat_id))
        return [
            await self._send_message(
                self._photo_content(data, caption if i == 0 else None, group, 2), mark=False)
            for i, data in enumerate(photos)
        ]

    async def send_voice(self, data: bytes = b"OggS\x00fake-voice", duration: int = 3) -> Update:
        stored = self.tg.register_file(data, "voice", "oga", "audio/ogg")
        return await self._send_message({"voice": {
            "file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
            "duration": duration, "mime_type": "audio/ogg", "file_size": len(data)}})

    async def send_location(self, latitude: float, longitude: float) -> Update:
        return await self._send_message(
            {"location": {"latitude": latitude, "longitude": longitude}})

    async def send_sticker(self, emoji: str = "👍") -> Update:
        stored = self.tg.register_file(b"RIFFfake-webp", "stickers", "webp", "image/webp")
        return await self._send_message({"sticker": {
            "file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
            "type": "regular", "width": 512, "height": 512, "is_animated": False,
            "is_video": False, "emoji": emoji, "file_size": len(stored.data)}})

    async def send_document(self, data: bytes = b"%PDF-1.4 fake", file_name: str = "report.pdf",
                            mime_type: str = "application/pdf",
                            caption: str | None = None) -> Update:
        stored = self.tg.register_file(data, "documents", file_name.rsplit(".", 1)[-1], mime_type)
        content: dict[str, Any] = {"document": {
            "file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
            "file_name": file_name, "mime_type": mime_type, "file_size": len(data)}}
        if caption is not None:
            content["caption"] = caption
        return await self._send_message(content)

    # ---- inline buttons --------------------------------------------------------------------
    async def press(self, button_text: str, message_id: int | None = None) -> Update:
        """Press the inline button labelled ``button_text`` on ``message_id`` or, by default, on
        the last message the bot sent to this chat that still has inline buttons."""
        sent = self.tg.sent(self.chat_id)
        if message_id is not None:
            message = self.tg.find_message(self.chat_id, message_id)
        else:
            message = next((m for m in reversed(sent) if m.buttons and not m.deleted), None)
        if message is None:
            raise LookupError(f"no message with inline buttons in chat {self.chat_id}")
        for row in message.buttons:
            for button in row:
                if button.text == button_text and button.callback_data is not None:
                    return await self.press_data(button.callback_data, message.message_id)
        raise LookupError(f"no callback button {button_text!r} on message {message.message_id};"
                          f" it has {message.button_texts}")

    async def press_data(self, data: str, message_id: int | None = None) -> Update:
        """A callback_query with any payload (forged, stale, ...) on a message of this chat."""
        if message_id is not None:
            message = self.tg.find_message(self.chat_id, message_id)
        else:
            sent = self.tg.sent(self.chat_id)
            message = sent[-1] if sent else None
        query_id = str(4_000_000_000_000 + self.tg.next_id("callback"))
        self.tg.callback_ids.add(query_id)
        query: dict[str, Any] = {"id": query_id, "from": self.user,
                                 "chat_instance": str(abs(self.chat_id) * 7919 + 17), "data": data}
        if message is not None:
            query["message"] = copy.deepcopy(message.message)
        return await self._deliver({"callback_query": query})

    # ---- replies ---------------------------------------------------------------------------
    def replies(self) -> list[SentMessage]:
        """Everything the bot sent to this chat since this user's last action."""
        return self.tg.sent(self.chat_id)[self._mark :]

    async def wait_reply(self, count: int = 1, timeout: float = 5.0) -> list[SentMessage]:
        """Wait until the bot has sent ``count`` messages to this chat since the last action
        and return those ``count`` (in order)."""
        await self.tg.wait_for(
            lambda: len(self.replies()) >= count, timeout,
            message=f"bot sent {len(self.replies())}/{count} messages to chat {self.chat_id}"
                    f" within {timeout}s: {[m.plain for m in self.replies()]}",
        )
        return self.replies()[:count]

    # ---- internals -------------------------------------------------------------------------
    def _photo_content(self, data: bytes, caption: str | None, media_group_id: str | None,
                       sizes: int) -> dict[str, Any]:
        photo = []
        if sizes >= 2:
            thumb = self.tg.register_file(b"THUMB" + data[:32], "photos", "jpg")
            photo.append({"file_id": thumb.file_id, "file_unique_id": thumb.file_unique_id,
                          "width": 90, "height": 67, "file_size": len(thumb.data)})
        stored = self.tg.register_file(data, "photos", "jpg")
        photo.append({"file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
                      "width": 1280, "height": 960, "file_size": len(data)})
        content: dict[str, Any] = {"photo": photo}
        if caption is not None:
            content["caption"] = caption
        if media_group_id is not None:
            content["media_group_id"] = media_group_id
        return content

    async def _send_message(self, content: dict[str, Any], mark: bool = True) -> Update:
        message = {"message_id": self.tg.next_message_id(self.chat_id), "from": self.user,
                   "chat": self.chat, "date": int(time.time()), **content}
        return await self._deliver({"message": message}, mark)

    async def _deliver(self, payload: dict[str, Any], mark: bool = True) -> Update:
        if mark:
            self._mark = len(self.tg.sent(self.chat_id))
        update = self.tg.new_update(**payload)
        self.last_status = await self.tg.deliver(update)
        return update
