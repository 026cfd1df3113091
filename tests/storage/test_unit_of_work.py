"""Transactions, locks, time zones and the database handle."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import IntegrityError

from domain.invitations import Invitation
from domain.messages import Reply
from domain.people import Role
from domain.ports import Draft, UnitOfWorkFactory
from storage.database import Database
from storage.migrate import upgrade_to_head
from storage.uow import advisory_key
from tests.db_fixtures import sqlite_url
from tests.storage.builders import NOW, add_person, committed_person, media, new_report

HANOI = timezone(timedelta(hours=7))


async def test_uncommitted_unit_of_work_leaves_no_trace(
    any_uow_factory: UnitOfWorkFactory,
) -> None:
    async with any_uow_factory() as uow:
        person = await add_person(uow, "1")
        await uow.reports.add(new_report(person.id, 1, items=[media("a")]))
        await uow.drafts.save(Draft(person.id, "report", "ward", {}, 1, NOW, NOW))
        await uow.outbox.add("telegram", "1", Reply("hi"), NOW)
        await uow.updates.record("telegram", "1", NOW)
        await uow.invitations.add(Invitation("ABCDEFGHJK", Role.BOARD, None, NOW, NOW))
        await uow.reports.next_number(2026)

    async with any_uow_factory() as uow:
        assert await uow.people.by_identity("telegram", "1") is None
        assert await uow.reports.all() == []
        assert await uow.drafts.get(person.id) is None
        assert await uow.outbox.all() == []
        assert await uow.updates.record("telegram", "1", NOW) is True
        assert await uow.invitations.get("ABCDEFGHJK") is None
        assert await uow.reports.next_number(2026) == 1


async def test_error_in_block_rolls_back(database: Database) -> None:
    with pytest.raises(RuntimeError, match="boom"):
        async with database.unit_of_work() as uow:
            await add_person(uow, "1")
            raise RuntimeError("boom")
    async with database.unit_of_work() as uow:
        assert await uow.people.by_identity("telegram", "1") is None


async def test_work_after_commit_needs_another_commit(database: Database) -> None:
    async with database.unit_of_work() as uow:
        await add_person(uow, "1")
        await uow.commit()
        await add_person(uow, "2")
    async with database.unit_of_work() as uow:
        assert await uow.people.by_identity("telegram", "1") is not None
        assert await uow.people.by_identity("telegram", "2") is None


async def test_unit_of_work_must_be_entered(database: Database) -> None:
    uow = database.unit_of_work()
    with pytest.raises(RuntimeError, match="not open"):
        await uow.people.get(1)


async def test_moments_come_back_aware_utc(database: Database) -> None:
    local = datetime(2026, 3, 2, 15, 30, 15, 123456, tzinfo=HANOI)
    async with database.unit_of_work() as uow:
        person = await uow.people.add("A", Role.RESIDENT, None, local, ("zalo", "1", "1"))
        await uow.invitations.add(Invitation("ABCDEFGHJK", Role.BOARD, None, local, local))
        await uow.commit()
    async with database.unit_of_work() as uow:
        loaded = await uow.people.get(person.id)
        invitation = await uow.invitations.get("ABCDEFGHJK")
    assert loaded is not None and invitation is not None
    for moment in (loaded.created_at, invitation.created_at, invitation.expires_at):
        assert moment.tzinfo is not None and moment.utcoffset() == timedelta(0)
        assert moment == local
        assert moment.hour == 8 and moment.microsecond == 123456


async def test_naive_moments_are_refused(database: Database) -> None:
    async with database.unit_of_work() as uow:
        with pytest.raises(Exception, match="naive datetime"):
            await uow.people.add("A", Role.RESIDENT, None, datetime(2026, 1, 1), ("z", "1", "1"))


async def test_moment_comparisons_use_utc(database: Database) -> None:
    """A later moment given in +07:00 must sort after an earlier one given in UTC."""
    early_utc = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    later_hanoi = datetime(2026, 3, 2, 10, 0, tzinfo=UTC).astimezone(HANOI)  # 17:00 +07
    async with database.unit_of_work() as uow:
        await uow.outbox.add("zalo", "late", Reply("x"), later_hanoi)
        await uow.outbox.add("zalo", "early", Reply("x"), early_utc)
        await uow.commit()
    async with database.engine.connect() as connection:
        rows = (await connection.execute(
            text("SELECT chat_id FROM outbox ORDER BY next_attempt_at")
        )).scalars().all()
    assert rows == ["early", "late"]


async def test_chat_lock_serialises_units_of_work(database: Database) -> None:
    steps: list[str] = []
    first_holds = asyncio.Event()

    async def first() -> None:
        async with database.unit_of_work() as uow:
            await uow.lock_chat("telegram:42")
            first_holds.set()
            await asyncio.sleep(0.2)
            steps.append("first done")
            await uow.commit()

    async def second() -> None:
        await first_holds.wait()
        async with database.unit_of_work() as uow:
            await uow.lock_chat("telegram:42")
            steps.append("second has the lock")
            await uow.commit()

    await asyncio.gather(first(), second())
    assert steps == ["first done", "second has the lock"]


ONLY_POSTGRES = pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
ONLY_SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@ONLY_POSTGRES
async def test_other_chats_are_not_blocked(database: Database) -> None:
    steps: list[str] = []
    first_holds = asyncio.Event()

    async def first() -> None:
        async with database.unit_of_work() as uow:
            await uow.lock_chat("telegram:1")
            first_holds.set()
            await asyncio.sleep(0.3)
            steps.append("first done")

    async def second() -> None:
        await first_holds.wait()
        async with database.unit_of_work() as uow:
            await uow.lock_chat("telegram:2")
            steps.append("second has its lock")

    await asyncio.gather(first(), second())
    assert steps == ["second has its lock", "first done"]


def test_advisory_key_is_stable_and_64_bit() -> None:
    assert advisory_key("telegram:42") == advisory_key("telegram:42")
    assert advisory_key("telegram:42") != advisory_key("telegram:43")
    # Pinned: a change would let two processes of different versions lock different keys.
    assert advisory_key("zalo:abc") == 6220276091023882882
    keys = [advisory_key(f"chat:{n}") for n in range(1000)]
    assert all(-(2**63) <= k < 2**63 for k in keys)
    assert len(set(keys)) == 1000


async def test_ping_and_dialect(database: Database) -> None:
    await database.ping()
    assert database.is_postgres is (database.engine.dialect.name == "postgresql")


async def test_sqlite_connection_settings(tmp_path: Path) -> None:
    db = Database.connect(f"sqlite+aiosqlite:///{tmp_path}/new/dir/x.db")
    try:
        assert (tmp_path / "new" / "dir").is_dir()
        assert db.is_sqlite and not db.is_postgres
        async with db.engine.connect() as connection:
            journal = (await connection.execute(text("PRAGMA journal_mode"))).scalar()
            foreign_keys = (await connection.execute(text("PRAGMA foreign_keys"))).scalar()
        assert (journal, foreign_keys) == ("wal", 1)
    finally:
        await db.dispose()


@ONLY_SQLITE
async def test_sqlite_foreign_keys_are_enforced(database: Database) -> None:
    async with database.unit_of_work() as uow:
        with pytest.raises(Exception, match="FOREIGN KEY"):
            await uow.reports.add(new_report(reporter_id=999, number=1))


@ONLY_SQLITE
async def test_sqlite_units_of_work_take_turns(database: Database) -> None:
    """Many concurrent writers on SQLite: none fails with "database is locked"."""
    await committed_person(database.unit_of_work)

    async def write(n: int) -> None:
        async with database.unit_of_work() as uow:
            await uow.updates.record("telegram", str(n), NOW)
            await uow.outbox.add("telegram", str(n), Reply("ok"), NOW)
            await uow.commit()

    await asyncio.gather(*(write(n) for n in range(30)))
    async with database.unit_of_work() as uow:
        assert len(await uow.outbox.all()) == 30


@ONLY_SQLITE
async def test_sqlite_statements_run_on_the_event_loops_own_thread(database: Database) -> None:
    """No worker thread per statement (storage/inline_sqlite.py: it was most of an intake
    step's CPU)."""
    threads: set[int] = set()

    def seen(*_: object) -> None:
        threads.add(threading.get_ident())

    event.listen(database.unit_engine, "before_cursor_execute", seen)
    try:
        await committed_person(database.unit_of_work, "1")
        async with database.unit_of_work() as uow:
            assert await uow.people.by_identity("telegram", "1") is not None
    finally:
        event.remove(database.unit_engine, "before_cursor_execute", seen)
    assert threads == {threading.get_ident()}


async def test_sqlite_writer_waiting_for_another_process_leaves_the_loop_running(
    tmp_path: Path,
) -> None:
    """While another process holds the write lock, this process's write waits, and everything
    else of the process (other chats, /healthz) goes on meanwhile."""
    path = tmp_path / "shared.db"
    await upgrade_to_head(sqlite_url(path))
    other = sqlite3.connect(path, isolation_level=None)
    service = Database.connect(sqlite_url(path))
    ticks = 0

    async def ticking() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    async def write() -> None:
        async with service.unit_of_work() as uow:
            await uow.outbox.add("telegram", "1", Reply("ok"), NOW)
            await uow.commit()

    ticker = asyncio.create_task(ticking())
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO processed_updates VALUES ('telegram', 'other', '2026-11-30')")
        writer = asyncio.create_task(write())
        await asyncio.sleep(0.5)
        assert not writer.done() and ticks >= 10
        other.execute("COMMIT")
        await asyncio.wait_for(writer, 5)
        async with service.unit_of_work() as uow:
            assert [item.chat_id for item in await uow.outbox.all()] == ["1"]
    finally:
        ticker.cancel()
        other.close()
        await service.dispose()


async def test_sqlite_writers_of_two_handles_wait_for_each_other(tmp_path: Path) -> None:
    """Two handles on one file (as two processes would have) write at once without errors."""
    url = sqlite_url(tmp_path / "shared.db")
    await upgrade_to_head(url)
    handles = [Database.connect(url), Database.connect(url)]

    async def write(db: Database, n: int) -> None:
        async with db.unit_of_work() as uow:
            await uow.updates.record("zalo", str(n), NOW)
            await asyncio.sleep(0.005)
            await uow.outbox.add("zalo", str(n), Reply("ok"), NOW)
            await uow.commit()

    try:
        await asyncio.gather(*(write(handles[n % 2], n) for n in range(20)))
        async with handles[0].unit_of_work() as uow:
            assert sorted(int(i.chat_id) for i in await uow.outbox.all()) == list(range(20))
    finally:
        for db in handles:
            await db.dispose()


async def test_rollback_after_failed_statement_keeps_unit_usable(database: Database) -> None:
    await committed_person(database.unit_of_work, "1")
    async with database.unit_of_work() as uow:
        with pytest.raises(IntegrityError):
            await add_person(uow, "1")  # the identity exists already
        await uow.rollback()
        await add_person(uow, "2")
        await uow.commit()
    async with database.unit_of_work() as uow:
        assert await uow.people.by_identity("telegram", "2") is not None


async def test_sqlite_a_new_connection_waits_while_another_process_writes(
    tmp_path: Path,
) -> None:
    """The service's first connection (which turns on WAL) while another process holds a long
    write: it waits for the lock with the configured busy timeout (30 s), not the driver's
    own 5 s, instead of failing on its set-up."""
    import sqlite3

    path = tmp_path / "shared.db"
    await upgrade_to_head(sqlite_url(path))
    other = sqlite3.connect(path, isolation_level=None)  # "another process", in rollback mode
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO processed_updates VALUES ('telegram', 'other', '2026-11-30')")
    service = Database.connect(sqlite_url(path))

    async def first_update() -> bool:
        async with service.unit_of_work() as uow:
            recorded = await uow.updates.record("telegram", "service", NOW)
            await uow.commit()
            return recorded

    try:
        task = asyncio.create_task(first_update())
        await asyncio.sleep(5.5)
        other.execute("COMMIT")
        assert await task
    finally:
        other.close()
        await service.dispose()


@ONLY_SQLITE
async def test_sqlite_moments_written_by_other_hands_are_read_too(database: Database) -> None:
    """The fast reading of stored moments (storage/types.py) falls back to SQLAlchemy's own for
    text it did not write: without microseconds, or a date alone."""
    local = datetime(2026, 3, 2, 15, 30, 15, tzinfo=HANOI)
    async with database.unit_of_work() as uow:
        person = await uow.people.add("A", Role.RESIDENT, None, local, ("zalo", "1", "1"))
        await uow.commit()
    async with database.engine.begin() as connection:
        stored = (await connection.execute(
            text("SELECT created_at FROM people WHERE id = :id"), {"id": person.id}
        )).scalar_one()
        assert stored == "2026-03-02 08:30:15.000000"  # UTC, as SQLAlchemy writes it
        await connection.execute(text("UPDATE people SET created_at = '2026-03-02 08:30:15'"))
    async with database.unit_of_work() as uow:
        loaded = await uow.people.get(person.id)
    assert loaded is not None and loaded.created_at == local
    async with database.engine.begin() as connection:
        await connection.execute(text("UPDATE people SET created_at = '2026-03-02'"))
    async with database.unit_of_work() as uow:
        loaded = await uow.people.get(person.id)
    assert loaded is not None and loaded.created_at == datetime(2026, 3, 2, tzinfo=UTC)


@ONLY_SQLITE  # PostgreSQL's JSONB stores the characters whatever the escapes it was sent
async def test_json_keeps_vietnamese_as_it_is(database: Database) -> None:
    """Stored as UTF-8, not as `\\uXXXX` escapes (storage/database.py `json_text`)."""
    reply = Reply("Phường Bồ Đề: đã tiếp nhận 📋")
    async with database.unit_of_work() as uow:
        await uow.outbox.add("telegram", "1", reply, NOW)
        await uow.commit()
    async with database.engine.connect() as connection:
        stored = (await connection.execute(text("SELECT payload FROM outbox"))).scalar_one()
    assert "Phường Bồ Đề: đã tiếp nhận 📋" in stored and "\\u" not in stored
    async with database.unit_of_work() as uow:
        [item] = await uow.outbox.all()
    assert item.reply == reply
