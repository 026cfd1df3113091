"""Channel-neutral incoming events; replies are `domain.messages.Reply`."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from domain.reports import Location, StoredMedia


class Kind(StrEnum):
    TEXT = "text"  # typed text, commands included ("/start ABC")
    CHOICE = "choice"  # a pressed button: `payload` holds what the button carried
    PHOTO = "photo"
    VOICE = "voice"
    LOCATION = "location"
    MEDIA_TOO_LARGE = "media_too_large"
    MEDIA_FAILED = "media_failed"  # the platform would not give us the file
    UNSUPPORTED = "unsupported"  # stickers, files, videos, anything we do not read


@dataclass(frozen=True)
class Incoming:
    channel: str
    update_key: str  # unique per channel; a redelivered update carries the same key
    chat_id: str
    user_id: str
    display_name: str
    kind: Kind
    text: str = ""  # the text, or a photo's caption
    payload: str = ""
    media: StoredMedia | None = None
    location: Location | None = None
    album_id: str | None = None

    @property
    def chat_key(self) -> str:
        return f"{self.channel}:{self.chat_id}"
