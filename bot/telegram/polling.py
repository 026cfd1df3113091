"""Long polling that never loses an update: the offset moves only after every update committed.

aiogram's own `start_polling` confirms an update as soon as it is fetched, so one whose handling
failed is gone. Here a failed batch is fed again; updates already handled are skipped by the
conversation core's idempotency record.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.exceptions import (
    AiogramError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import TelegramMethod
from aiogram.types import Update

from bot.poll_backoff import PollBackoff
from bot.retry_policy import FailureCounter

log = logging.getLogger(__name__)
ALLOWED_UPDATES = ["message", "callback_query"]


MAX_ATTEMPTS = 5


def _chat_of(update: Update) -> int:
    if update.message is not None:
        return update.message.chat.id
    query = update.callback_query
    if query is not None:
        message = query.message
        if message is not None and message.chat.type == "private":
            return message.chat.id
        return query.from_user.id
    return 0


class _Feeder:
    """Feeds batches; an update that keeps failing is skipped after MAX_ATTEMPTS, loudly.

    Without that, one update that can never be handled would hold back every later update
    (Telegram keeps them 24 h and stops delivering when the queue is full). Failures of the
    world (database, network) do not count: those are retried for as long as they last.
    """

    def __init__(self, dispatcher: Dispatcher, bot: Bot) -> None:
        self._dispatcher = dispatcher
        self._bot = bot
        self._failures = FailureCounter(MAX_ATTEMPTS)

    async def feed(self, updates: list[Update]) -> None:
        """Updates of one chat one after another, in order; different chats side by side."""
        by_chat: dict[int, list[Update]] = defaultdict(list)
        for update in updates:
            by_chat[_chat_of(update)].append(update)
        results = await asyncio.gather(
            *(self._feed_chat(u) for u in by_chat.values()), return_exceptions=True
        )
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            raise failures[0]

    async def _feed_chat(self, chat_updates: list[Update]) -> None:
        for update in chat_updates:
            try:
                result = await self._dispatcher.feed_update(self._bot, update)
            except Exception as error:
                if not self._failures.give_up(str(update.update_id), error):
                    raise
                log.error("update %s failed %d times on its own; skipped so that its chat can "
                          "go on", update.update_id, MAX_ATTEMPTS, exc_info=True)
                continue
            self._failures.succeeded(str(update.update_id))
            if isinstance(result, TelegramMethod):
                _call_quietly(self._bot, result)


_background: set[asyncio.Task[None]] = set()


def _call_quietly(bot: Bot, method: TelegramMethod[Any]) -> None:
    """Run a call whose failure loses nothing (a button's spinner) without delaying the batch."""

    async def call() -> None:
        with contextlib.suppress(AiogramError, OSError, TimeoutError):
            await bot(method)

    task = asyncio.create_task(call())
    _background.add(task)
    task.add_done_callback(_background.discard)


async def _delete_webhook(bot: Bot, max_backoff: float) -> None:
    """Polling and a webhook exclude each other; keep trying while Telegram is unreachable.

    A refusal (4xx: a server that has no webhook to delete, or does not know the call) is not
    worth waiting for: polling starts anyway, and getUpdates says so if a webhook is still set.
    """
    backoff = PollBackoff(longest=max_backoff)
    while True:
        try:
            await bot.delete_webhook(drop_pending_updates=False)
            return
        except (TelegramNetworkError, TelegramServerError) as error:
            pause = backoff.failed()
            log.warning("deleteWebhook failed (%s); retrying in %.1fs", error.message, pause)
            await asyncio.sleep(pause)
        except TelegramRetryAfter as error:
            await asyncio.sleep(error.retry_after)
        except AiogramError as error:  # a refusal, or an answer aiogram could not read
            log.warning("deleteWebhook refused (%s); polling anyway", error)
            return


async def poll(
    dispatcher: Dispatcher, bot: Bot, timeout: int = 25, max_backoff: float = 60.0,
    first_backoff: float = 1.0,
) -> None:
    await _delete_webhook(bot, max_backoff)
    feeder = _Feeder(dispatcher, bot)
    offset: int | None = None
    backoff = PollBackoff(first_backoff, max_backoff, poll_seconds=timeout)
    while True:
        backoff.asking()
        try:
            updates = await bot.get_updates(
                offset=offset, timeout=timeout, allowed_updates=ALLOWED_UPDATES
            )
        except TelegramRetryAfter as error:
            await asyncio.sleep(error.retry_after)
            continue
        except AiogramError as error:  # API errors, and answers aiogram could not read
            pause = backoff.request_failed()
            log.warning("getUpdates failed (%s); retrying in %.1fs", error, pause)
            await asyncio.sleep(pause)
            continue
        try:
            await feeder.feed(updates)
        except Exception:
            log.exception("handling a batch of updates failed; it will be fed again")
            await asyncio.sleep(backoff.failed())
            continue
        if updates:
            offset = updates[-1].update_id + 1
        backoff.succeeded()
