"""Which failures of handling an update are the world's (retry for as long as it takes) and
which are the update's own (give up after a few attempts so the chat is not blocked forever)."""

from __future__ import annotations

from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from httpx import TransportError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from bot.zalo.client import ZaloRetryAfter, ZaloTemporary

# A database restart, a full disk or a network outage must not cost any update.
_TRANSIENT = (
    OperationalError, InterfaceError, OSError, TimeoutError, TransportError,
    TelegramNetworkError, TelegramServerError, TelegramRetryAfter, ZaloTemporary, ZaloRetryAfter,
)
MAX_OWN_FAILURES = 5


def is_transient(error: BaseException) -> bool:
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, _TRANSIENT)


class FailureCounter:
    """Counts an update's own failures; transient ones are retried without limit."""

    def __init__(self, limit: int = MAX_OWN_FAILURES) -> None:
        self._limit = limit
        self._counts: dict[str, int] = {}

    def give_up(self, key: str, error: BaseException) -> bool:
        """Record a failure of `key`; True when it has failed on its own too often."""
        if is_transient(error):
            return False
        self._counts[key] = self._counts.get(key, 0) + 1
        return self._counts[key] >= self._limit

    def succeeded(self, key: str) -> None:
        self._counts.pop(key, None)
