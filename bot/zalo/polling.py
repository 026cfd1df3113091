"""Long polling of the Zalo Bot Platform: one update per `getUpdates`, handled before the next.

`getUpdates` has no offset: an update is Zalo's no longer once it was handed to us. So a failed
handling is retried here (with backoff) before asking for the next update; it is dropped, with an
error in the log, only after `MAX_HANDLE_ATTEMPTS`, so one poisoned update cannot stop the channel
for good. Redelivered updates are harmless: the conversation core records (channel, event:id).
For the same reason a stop of the service lets the update in hand finish (for at most
`STOP_GRACE` seconds) instead of cancelling it halfway: cancelled, it would be lost.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from bot.loop_clock import loop_time
from bot.poll_backoff import PollBackoff
from bot.retry_policy import FailureCounter
from bot.zalo.client import ZaloClient, ZaloError, ZaloPermanent, ZaloRetryAfter
from bot.zalo.translate import ZaloTranslator
from handlers.service import ConversationService

log = logging.getLogger(__name__)
POLL_TIMEOUT = 30
MAX_HANDLE_ATTEMPTS = 8
MAX_BACKOFF = 60.0
STOP_GRACE = 10.0
Sleep = Callable[[float], Awaitable[None]]


async def handle_update(
    update: dict[str, Any], translator: ZaloTranslator, conversation: ConversationService
) -> bool:
    """Translate and handle one update; False when it was ignored or handled before."""
    incoming = await translator.incoming(update)
    if incoming is None:
        return False
    return await conversation.handle(incoming)


class ZaloPoller:
    def __init__(
        self,
        client: ZaloClient,
        translator: ZaloTranslator,
        conversation: ConversationService,
        *,
        timeout: int = POLL_TIMEOUT,
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], float] = loop_time,
        stop_grace: float = STOP_GRACE,
    ) -> None:
        self._client = client
        self._translator = translator
        self._conversation = conversation
        self._timeout = timeout
        self._sleep = sleep
        self._clock = clock
        self._stop_grace = stop_grace

    async def run(self) -> None:
        await self._delete_webhook()
        backoff = PollBackoff(longest=MAX_BACKOFF, poll_seconds=self._timeout, clock=self._clock)
        while True:
            backoff.asking()
            try:
                update = await self._client.get_updates(self._timeout)
                backoff.succeeded()
            except ZaloRetryAfter as error:
                log.warning("getUpdates: Zalo asked to wait %.0fs", error.retry_after)
                await self._sleep(error.retry_after)
                continue
            except ZaloError as error:
                pause = backoff.request_failed()
                log.warning("getUpdates failed (%s); retrying in %.0fs", error, pause)
                await self._sleep(pause)
                continue
            if update is not None:
                await self._finish(update)

    async def _finish(self, update: dict[str, Any]) -> None:
        """`handle`, carried on when the poller is cancelled (the service stops) until it ends
        or `stop_grace` runs out; the cancellation is passed on afterwards."""
        handling = asyncio.ensure_future(self.handle(update))
        try:
            await asyncio.shield(handling)
        except asyncio.CancelledError:
            done, _ = await asyncio.wait({handling}, timeout=self._stop_grace)
            if not done:
                handling.cancel()
                log.error("stopping while a Zalo update is still being handled: it is lost (%s)",
                          _describe(update))
            raise

    async def handle(self, update: dict[str, Any]) -> None:
        """Handle one update, retrying a failure before anything else is fetched."""
        backoff = PollBackoff(longest=MAX_BACKOFF)
        failures = FailureCounter(MAX_HANDLE_ATTEMPTS)
        while True:
            try:
                await handle_update(update, self._translator, self._conversation)
                return
            except asyncio.CancelledError:
                raise
            except Exception as error:
                if failures.give_up("update", error):
                    break
                pause = backoff.failed()
                log.exception("handling a Zalo update failed; retrying in %.0fs", pause)
                await self._sleep(pause)
        log.error(
            "dropping a Zalo update after %d failed attempts of its own: %s",
            MAX_HANDLE_ATTEMPTS,
            _describe(update),
        )

    async def _delete_webhook(self) -> None:
        """Polling and a webhook exclude each other: remove the webhook, however long it takes."""
        backoff = PollBackoff(longest=MAX_BACKOFF)
        while True:
            try:
                await self._client.delete_webhook()
                return
            except ZaloPermanent as error:  # e.g. no webhook to delete
                log.warning("deleteWebhook refused (%s); polling anyway", error)
                return
            except ZaloError as error:
                pause = backoff.failed()
                log.warning("deleteWebhook failed (%s); retrying in %.0fs", error, pause)
                await self._sleep(pause)


def _describe(update: dict[str, Any]) -> str:
    message = update.get("message")
    message_id = message.get("message_id") if isinstance(message, dict) else None
    return f"{update.get('event_name')!r} message {message_id!r}"
