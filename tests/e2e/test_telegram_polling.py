"""The polling loop against the fake Bot API: nothing lost, nothing stuck."""

from __future__ import annotations

import asyncio
import logging

import pytest
from aiogram import Dispatcher, Router
from aiogram.types import Message

from bot.telegram.polling import MAX_ATTEMPTS, poll
from tests.fakes.telegram_api import FakeTelegram


async def test_a_failing_update_is_retried_then_skipped_and_later_ones_go_on() -> None:
    seen: list[str] = []
    attempts = {"poison": 0, "flaky": 0}
    router = Router()

    @router.message()
    async def handle(message: Message) -> None:
        text = message.text or ""
        if text in attempts:
            attempts[text] += 1
            if text == "poison" or attempts[text] < 3:
                raise RuntimeError(f"cannot handle {text}")
        seen.append(text)

    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    async with FakeTelegram() as tg:
        bot = tg.make_bot()
        lan = tg.user(id=9001, first_name="Lan")
        for text in ("one", "flaky", "poison", "two"):
            await lan.send_text(text)
        task = asyncio.create_task(poll(dispatcher, bot, timeout=1, max_backoff=0.05))
        try:
            await tg.wait_for(lambda: "two" in seen, timeout=10)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await bot.session.close()
    # A failed batch is fed again whole (the conversation core's idempotency record makes the
    # repeats harmless), in order; the poison update is given up after MAX_ATTEMPTS.
    assert list(dict.fromkeys(seen)) == ["one", "flaky", "two"]
    assert attempts["poison"] == MAX_ATTEMPTS and seen.count("two") == 1


async def test_an_outage_longer_than_the_attempts_loses_nothing() -> None:
    """The database being away (here: an OSError) is not the update's fault: no give-up."""
    seen: list[str] = []
    outage = {"left": MAX_ATTEMPTS + 3}
    router = Router()

    @router.message()
    async def handle(message: Message) -> None:
        if outage["left"] > 0:
            outage["left"] -= 1
            raise ConnectionRefusedError("database is restarting")
        seen.append(message.text or "")

    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    async with FakeTelegram() as tg:
        bot = tg.make_bot()
        await tg.user(id=9002, first_name="Lan").send_text("during the outage")
        task = asyncio.create_task(poll(dispatcher, bot, timeout=1, max_backoff=0.02))
        try:
            await tg.wait_for(lambda: seen, timeout=10)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await bot.session.close()
    assert seen == ["during the outage"]


async def test_polling_starts_even_if_the_server_refuses_delete_webhook() -> None:
    seen: list[str] = []
    router = Router()

    @router.message()
    async def handle(message: Message) -> None:
        seen.append(message.text or "")

    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    async with FakeTelegram() as tg:
        tg.fail_next("deleteWebhook", status=404, times=1000,
                     description="Not Found: method not found")  # a server without it
        bot = tg.make_bot()
        await tg.user(id=9003, first_name="Lan").send_text("xin chào")
        task = asyncio.create_task(poll(dispatcher, bot, timeout=1, max_backoff=0.02))
        try:
            await tg.wait_for(lambda: seen, timeout=10)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await bot.session.close()
    assert seen == ["xin chào"]


async def test_long_calls_that_fail_keep_the_pause_short(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A getUpdates cut off after a long poll's length (a timeout, a system clock moved
    forward) is retried after the first pause, not after doubling ones; quick failures double."""
    router = Router()
    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    async with FakeTelegram() as tg:
        bot = tg.make_bot()
        bot.session.timeout = 1.2  # the client gives up before the fake answers
        tg.delay("getUpdates", 3.0)
        caplog.set_level(logging.WARNING, logger="bot.telegram.polling")
        task = asyncio.create_task(
            poll(dispatcher, bot, timeout=1, max_backoff=10.0, first_backoff=0.2)
        )
        try:
            await tg.wait_for(lambda: len(pauses(caplog)) >= 3, timeout=15)
            assert pauses(caplog)[:3] == ["0.2", "0.2", "0.2"]
            tg.delay("getUpdates", 0)
            tg.fail_next("getUpdates", status=502, times=3)  # quick failures
            caplog.clear()
            await tg.wait_for(lambda: len(pauses(caplog)) >= 3, timeout=15)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await bot.session.close()
    assert pauses(caplog)[:3] == ["0.2", "0.4", "0.8"]


def pauses(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage().rsplit("retrying in ", 1)[1].rstrip("s")
        for r in caplog.records if "getUpdates failed" in r.getMessage()
    ]
