"""How a channel reports the outcome of sending one message, in the dispatcher's terms."""

from __future__ import annotations

from typing import Protocol

from domain.messages import Reply


class DeliveryError(Exception):
    """Base of the outcomes a sender reports instead of success."""


class RetryAfter(DeliveryError):
    """The platform asked us to slow down (HTTP 429); the whole channel waits `seconds`."""

    def __init__(self, seconds: float, detail: str = "") -> None:
        super().__init__(detail or f"retry after {seconds}s")
        self.seconds = seconds


class TemporaryFailure(DeliveryError):
    """5xx, timeouts, connection errors: try again later with backoff."""


class PermanentFailure(DeliveryError):
    """The message can never be delivered (bot blocked, chat not found, bad request)."""


class Blocked(PermanentFailure):
    """The person blocked the bot (or deleted their account): this chat cannot be reached.

    Besides failing the message, the person's identity on this channel is marked unreachable,
    so that broadcasts skip it until the person writes to the bot again.
    """


class Sender(Protocol):
    """Sends one outbox item on one channel; raises a DeliveryError subclass when it cannot."""

    async def send(self, chat_id: str, reply: Reply) -> None: ...
