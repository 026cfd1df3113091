"""SQLite's log copied into the database file by the checkpointer, not by the commits."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest

from domain.messages import Reply
from domain.ports import NewMessage
from storage.checkpoints import Checkpoint, WalCheckpointer
from storage.database import Database
from storage.migrate import upgrade_to_head
from tests.db_fixtures import rows_in_the_file_alone

NOW = datetime(2026, 11, 2, 3, 0, tzinfo=UTC)
LONG = Reply("Nội dung dài " * 300)  # ~4 KB: a page of the log per message


async def write_messages(database: Database, transactions: int, per_transaction: int) -> None:
    for _ in range(transactions):
        async with database.unit_of_work() as uow:
            await uow.outbox.add_many(
                [NewMessage("telegram", "1", LONG)] * per_transaction, NOW
            )
            await uow.commit()


async def migrated(tmp_path: Path) -> tuple[Path, str]:
    path = tmp_path / "dlxh.db"
    url = f"sqlite+aiosqlite:///{path}"
    await upgrade_to_head(url)
    return path, url


async def test_commits_leave_the_log_to_the_checkpointer(tmp_path: Path) -> None:
    path, url = await migrated(tmp_path)
    database = Database.connect(url, background_checkpoints=True)
    try:
        assert database.checkpointer is not None
        await write_messages(database, 15, 100)  # ~1,500 pages: past SQLite's own 1,000
        assert await rows_in_the_file_alone(path, "outbox") == 0
        done = database.checkpointer.checkpoint()
        assert done == Checkpoint(busy=False, log_frames=done.copied_frames,
                                  copied_frames=done.log_frames)
        assert done.log_frames > 1_000
        assert await rows_in_the_file_alone(path, "outbox") == 1_500
    finally:
        await database.dispose()


async def test_the_running_checkpointer_copies_every_second(tmp_path: Path) -> None:
    path, url = await migrated(tmp_path)
    database = Database.connect(url, background_checkpoints=True)
    assert database.checkpointer is not None
    running = asyncio.create_task(database.checkpointer.run())
    try:
        await write_messages(database, 1, 10)
        seen = await rows_in_the_file_alone(path, "outbox")
        for _ in range(30):
            if seen == 10:
                break
            await asyncio.sleep(0.1)
            seen = await rows_in_the_file_alone(path, "outbox")
        assert seen == 10
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        await database.dispose()


async def test_without_background_checkpoints_the_commits_copy_the_log(tmp_path: Path) -> None:
    path, url = await migrated(tmp_path)
    database = Database.connect(url)
    try:
        assert database.checkpointer is None
        await write_messages(database, 15, 100)
        assert await rows_in_the_file_alone(path, "outbox") > 0
    finally:
        await database.dispose()


def test_only_a_sqlite_file_has_a_checkpointer() -> None:
    for url in ("sqlite+aiosqlite:///:memory:", "postgresql+asyncpg://postgres@127.0.0.1/test"):
        assert Database.connect(url, background_checkpoints=True).checkpointer is None


async def test_a_failing_checkpoint_is_logged_once_and_creates_no_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    missing = tmp_path / "gone.db"
    checkpointer = WalCheckpointer(missing, every_s=0.01)
    running = asyncio.create_task(checkpointer.run())
    await asyncio.sleep(0.2)
    running.cancel()
    await asyncio.gather(running, return_exceptions=True)
    failures = [r for r in caplog.records if "WAL checkpoints of gone.db fail" in r.message]
    assert len(failures) == 1 and not missing.exists()
