"""`dlxh serve` as a whole: it stops loudly when a part of it dies; it keeps the SQLite file
itself up to date."""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

import bot.serve
from storage.migrate import upgrade_to_head
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


def _people_in_the_file_alone(path: Path) -> int | None:
    """People as the database file holds them without its write-ahead log (what a copy of the
    file alone would hold); None while the file is being written."""
    try:
        with closing(sqlite3.connect(f"file:{path}?immutable=1", uri=True)) as connection:
            count: int = connection.execute("SELECT count(*) FROM people").fetchone()[0]
            return count
    except sqlite3.DatabaseError:
        return None


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
        before = await _read_the_file_alone(path)
        lan = tg.user(id=5301, first_name="Lan")
        await lan.send_text(f"/start {code}")
        await lan.wait_reply(1)
        after = await _read_the_file_alone(path)
        for _ in range(60):
            if after == 1:
                break
            await asyncio.sleep(0.1)
            after = await _read_the_file_alone(path)
        assert (before, after) == (0, 1)


async def _read_the_file_alone(path: Path) -> int:
    """`_people_in_the_file_alone`, read again while a checkpoint is copying pages."""
    for _ in range(100):
        count = _people_in_the_file_alone(path)
        if count is not None:
            return count
        await asyncio.sleep(0.02)
    raise AssertionError("the database file could not be read")
