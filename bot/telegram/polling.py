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
from aiogram.exceptions import TelegramAPIError, TelegramRetryAfter
from aiogram.methods import TelegramMethod
from aiogram.types import Update

log = logging.getLogger(__name__)
ALLOWED_UPDATES = ["message", "callback_query"]


def _chat_of(update: Update) -> int:
    if update.message is not None:
        return update.message.chat.id
    if update.callback_query is not None:
        return update.callback_query.from_user.id
    return 0


async def _feed_in_order(dispatcher: Dispatcher, bot: Bot, updates: list[Update]) -> None:
    """Updates of one chat one after another, in order; different chats side by side."""
    by_chat: dict[int, list[Update]] = defaultdict(list)
    for update in updates:
        by_chat[_chat_of(update)].append(update)

    async def feed_chat(chat_updates: list[Update]) -> None:
        for update in chat_updates:
            result = await dispatcher.feed_update(bot, update)
            if isinstance(result, TelegramMethod):
                _call_quietly(bot, result)

    results = await asyncio.gather(
        *(feed_chat(u) for u in by_chat.values()), return_exceptions=True
    )
    failures = [r for r in results if isinstance(r, BaseException)]
    if failures:
        raise failures[0]


_background: set[asyncio.Task[None]] = set()


def _call_quietly(bot: Bot, method: TelegramMethod[Any]) -> None:
    """Run a call whose failure loses nothing (a button's spinner) without delaying the batch."""

    async def call() -> None:
        with contextlib.suppress(TelegramAPIError, OSError, TimeoutError):
            await bot(method)

    task = asyncio.create_task(call())
    _background.add(task)
    task.add_done_callback(_background.discard)


async def poll(dispatcher: Dispatcher, bot: Bot, timeout: int = 25) -> None:
    await bot.delete_webhook(drop_pending_updates=False)
    offset: int | None = None
    backoff = 1.0
    while True:
        try:
            updates = await bot.get_updates(
                offset=offset, timeout=timeout, allowed_updates=ALLOWED_UPDATES
            )
            if updates:
                await _feed_in_order(dispatcher, bot, updates)
                offset = updates[-1].update_id + 1
            backoff = 1.0
        except asyncio.CancelledError:
            raise
        except TelegramRetryAfter as error:
            await asyncio.sleep(error.retry_after)
        except TelegramAPIError as error:
            log.warning("getUpdates failed (%s); retrying in %.0fs", error.message, backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 60.0)
        except Exception:
            log.exception("handling a batch of updates failed; it will be fed again")
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 60.0)
