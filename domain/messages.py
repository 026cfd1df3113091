"""Channel-neutral outgoing messages, as the outbox stores them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


@dataclass(frozen=True)
class Choice:
    """A button on Telegram, a numbered line on Zalo and the console."""

    payload: str
    label: str
    # Other words that choose it when typed, never shown: "Phường Bồ Đề" for its "✅ Đúng, …".
    typed: tuple[str, ...] = ()


@dataclass(frozen=True)
class Reply:
    text: str
    choices: tuple[Choice, ...] = ()
    # Telegram shows a "share location" reply keyboard instead of inline buttons.
    request_location: bool = False
    photos: tuple[str, ...] = ()  # sha256 of stored media
    documents: tuple[tuple[str, str], ...] = ()  # (sha256 of stored file, file name)
    # Telegram takes the "share location" keyboard away (a message without buttons only).
    hide_keyboard: bool = False

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "text": self.text,
            "choices": [[c.payload, c.label] for c in self.choices],
            "request_location": self.request_location,
            "photos": list(self.photos),
            "documents": [list(d) for d in self.documents],
        }
        if self.hide_keyboard:
            document["hide_keyboard"] = True
        return document

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Reply:
        return cls(
            text=data["text"],
            choices=tuple(Choice(p, label) for p, label in data.get("choices", [])),
            request_location=bool(data.get("request_location", False)),
            photos=tuple(data.get("photos", [])),
            documents=tuple((sha, name) for sha, name in data.get("documents", [])),
            hide_keyboard=bool(data.get("hide_keyboard", False)),
        )


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # a broadcast copy claimed right before its send
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"  # a broadcast copy its recipient opted out of before it went


class Priority:
    """Lower is sent first: a reply inside a conversation never waits behind a broadcast."""

    CONVERSATION = 0
    NOTIFICATION = 5
    BROADCAST = 10


@dataclass
class OutboxItem:
    id: int
    channel: str
    chat_id: str
    reply: Reply
    status: OutboxStatus
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    priority: int = Priority.CONVERSATION
    last_error: str | None = None
    sent_at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)
