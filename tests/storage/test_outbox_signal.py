"""PostgreSQL LISTEN/NOTIFY between processes (storage/outbox_signal.py)."""

from __future__ import annotations

import asyncio
import logging

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from storage.database import Database
from storage.outbox_signal import OutboxSignal


@pytest.mark.postgres
async def test_a_burst_of_announcements_reaches_another_process_s_listener_once(
    postgres_database_url: str,
) -> None:
    listening = Database.connect(postgres_database_url)
    announcing = Database.connect(postgres_database_url)
    heard: list[int] = []
    first = asyncio.Event()
    leader = OutboxSignal(listening.engine)
    worker = OutboxSignal(announcing.engine)
    try:
        def hear() -> None:
            heard.append(1)
            first.set()

        await leader.listen(hear)
        for _ in range(5):  # five commits close together
            worker.announce()
        await asyncio.wait_for(first.wait(), timeout=5)
        await asyncio.sleep(0.2)  # a second notification would have arrived by now
        assert heard == [1]

        await leader.close()  # stops listening
        worker.announce()
        await asyncio.sleep(0.2)
        assert heard == [1]
    finally:
        await worker.close()
        await leader.close()
        await listening.dispose()
        await announcing.dispose()


@pytest.mark.postgres
async def test_an_announcement_the_database_refuses_is_only_logged(
    postgres_database_url: str, caplog: pytest.LogCaptureFixture,
) -> None:
    nowhere = make_url(postgres_database_url).set(host="127.0.0.1", port=9)  # nothing listens
    broken = Database.connect(nowhere.render_as_string(hide_password=False))
    signal = OutboxSignal(broken.engine)
    try:
        signal.announce()
        await signal.close()  # waits for the attempt
        assert "could not notify" in caplog.text
    finally:
        await broken.dispose()


@pytest.mark.postgres
async def test_the_listener_listens_again_after_its_connection_was_killed(
    postgres_database_url: str, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="storage.outbox_signal")
    listening = Database.connect(postgres_database_url)
    announcing = Database.connect(postgres_database_url)
    heard = asyncio.Event()
    leader = OutboxSignal(listening.engine)
    worker = OutboxSignal(announcing.engine)
    try:
        await leader.listen(heard.set)
        async with announcing.engine.connect() as connection:  # as a database restart would
            killed = (await connection.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND query LIKE 'LISTEN%'"
            ))).scalars().all()
        assert killed and all(killed)
        # Listening again, it first wakes the dispatcher for what came meanwhile ...
        await asyncio.wait_for(heard.wait(), timeout=10)
        assert "listening to outbox notifications again" in caplog.text
        # ... and hears the next announcement.
        heard.clear()
        worker.announce()
        await asyncio.wait_for(heard.wait(), timeout=5)
    finally:
        await worker.close()
        await leader.close()
        await listening.dispose()
        await announcing.dispose()
