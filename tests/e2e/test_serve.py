"""`dlxh serve` as a whole: it stops loudly when a part of it dies; it keeps the SQLite file
itself up to date."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

import bot.serve
from storage.migrate import upgrade_to_head
from tests.db_fixtures import rows_in_the_file_alone
from tests.e2e.harness import invitation, running, service_settings
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


async def test_what_the_service_commits_reaches_the_database_file_within_seconds(
    tmp_path: Path, tg: FakeTelegram
) -> None:
    """The service's commits leave copying the log to its checkpointer (storage/checkpoints.py),
    which copies it every second; without it, the person would stay in the log."""
    path = tmp_path / "dlxh.db"
    url = f"sqlite+aiosqlite:///{path}"
    settings = service_settings(url, tmp_path, tg, "polling")
    await upgrade_to_head(url)
    code = await invitation(url)
    async with running(settings, tg):
        before = await rows_in_the_file_alone(path, "people")
        lan = tg.user(id=5301, first_name="Lan")
        await lan.send_text(f"/start {code}")
        await lan.wait_reply(1)
        after = await rows_in_the_file_alone(path, "people")
        for _ in range(60):
            if after == 1:
                break
            await asyncio.sleep(0.1)
            after = await rows_in_the_file_alone(path, "people")
        assert (before, after) == (0, 1)
