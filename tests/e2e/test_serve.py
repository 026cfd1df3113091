"""`dlxh serve` as a whole: it stops loudly when a part of it dies."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

import bot.serve
from tests.e2e.harness import service_settings
from tests.fakes.telegram_api import FakeTelegram


async def test_a_dead_poller_stops_the_service(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken_poll(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the poller crashed")

    monkeypatch.setattr(bot.serve, "poll", broken_poll)
    async with FakeTelegram() as tg:
        url = f"sqlite+aiosqlite:///{tmp_path}/dlxh.db"
        settings = service_settings(url, tmp_path, tg, "polling")
        with pytest.raises(RuntimeError, match="stopped unexpectedly"):
            await asyncio.wait_for(bot.serve.serve(settings, asyncio.Event()), 20)
