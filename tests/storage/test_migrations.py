"""Alembic migrations: an empty database reaches the models' schema, and stays there."""

from __future__ import annotations

import asyncio
import secrets
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Float, Integer, String, column, inspect, table, text
from sqlalchemy.engine import Connection

from domain.messages import Reply
from domain.people import Role
from domain.reports import ReportStatus
from storage.database import Database
from storage.migrate import alembic_config, upgrade_to_head
from storage.models import metadata
from storage.types import JSONDocument, UTCDateTime
from tests.db_fixtures import (
    BACKENDS,
    create_postgres_database,
    drop_postgres_database,
    postgres_server_url,
    skip_if_postgres_disabled,
    sqlite_url,
)
from tests.storage.builders import NOW

HEAD = ScriptDirectory.from_config(alembic_config("")).get_current_head()


@pytest.fixture(params=BACKENDS)
async def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database (not migrated): a file that does not exist yet, or a new database."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path / "not-yet" / "dlxh.db")
        return
    skip_if_postgres_disabled()
    server, name = postgres_server_url(), f"dlxh_migrate_{secrets.token_hex(4)}"
    url = await create_postgres_database(server, name)
    try:
        yield url
    finally:
        await drop_postgres_database(server, name)


def _schema(connection: Connection) -> tuple[set[str], list[object]]:
    tables = set(inspect(connection).get_table_names())
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return tables, list(compare_metadata(context, metadata))


async def _read(url: str) -> tuple[set[str], list[object], list[str], list[str]]:
    db = Database.connect(url)
    try:
        async with db.engine.connect() as connection:
            tables, differences = await connection.run_sync(_schema)
            versions = (await connection.execute(
                text("SELECT version_num FROM alembic_version")
            )).scalars().all()
            names = (await connection.execute(text("SELECT name FROM counters"))).scalars().all()
    finally:
        await db.dispose()
    return tables, differences, list(versions), list(names)


async def test_upgrade_creates_every_table_and_matches_models(
    empty_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the migrations are found from any working directory
    await upgrade_to_head(empty_url)
    tables, differences, versions, _ = await _read(empty_url)
    assert tables == set(metadata.tables) | {"alembic_version"}
    assert differences == []
    assert versions == [HEAD]


async def test_second_upgrade_is_a_no_op(empty_url: str) -> None:
    await upgrade_to_head(empty_url)
    db = Database.connect(empty_url)
    try:
        async with db.unit_of_work() as uow:
            await uow.reports.next_number(2026)
            await uow.commit()
    finally:
        await db.dispose()

    await upgrade_to_head(empty_url)
    _, differences, versions, names = await _read(empty_url)
    assert differences == []
    assert versions == [HEAD]
    assert names == ["report:2026"]  # data survived: nothing was recreated


async def test_concurrent_upgrades_in_one_process(empty_url: str) -> None:
    await asyncio.gather(*(upgrade_to_head(empty_url) for _ in range(3)))
    tables, differences, versions, _ = await _read(empty_url)
    assert tables == set(metadata.tables) | {"alembic_version"}
    assert (differences, versions) == ([], [HEAD])


MIGRATE = "import asyncio, sys; from storage.migrate import upgrade_to_head; " \
    "asyncio.run(upgrade_to_head(sys.argv[1]))"


async def test_processes_migrating_at_once(empty_url: str) -> None:
    """Three processes start together on an empty database: all succeed, one migrates (on
    SQLite too: `scripts/run` and a `dlxh invite` started at once on a new install)."""
    root = Path(__file__).resolve().parents[2]
    workers = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", MIGRATE, empty_url, cwd=root,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(3)
    ]
    outputs = [await worker.communicate() for worker in workers]
    assert [w.returncode for w in workers] == [0, 0, 0], outputs
    tables, differences, versions, _ = await _read(empty_url)
    assert tables == set(metadata.tables) | {"alembic_version"}
    assert (differences, versions) == ([], [HEAD])


def test_head_is_the_broadcasts_revision() -> None:
    assert HEAD == "0006"


async def _migrate(url: str, revision: str, *, down: bool = False) -> None:
    config = alembic_config(url)
    action = command.downgrade if down else command.upgrade
    await asyncio.to_thread(action, config, revision)


# The reports table as revision 0001 made it: what the service wrote before 0002.
_REPORTS_0001 = table(
    "reports", column("id", Integer), column("code", String), column("reporter_id", Integer),
    column("category_code", String), column("ward_code", String), column("address", String),
    column("latitude", Float), column("longitude", Float), column("description", String),
    column("urgency", String), column("status", String), column("created_at", UTCDateTime),
    column("acknowledge_deadline", UTCDateTime), column("channel", String),
)
_PEOPLE_0001 = table(
    "people", column("id", Integer), column("display_name", String), column("role", String),
    column("unit_code", String), column("created_at", UTCDateTime),
)


async def _add_report_at_0001(url: str) -> None:
    db = Database.connect(url)
    try:
        async with db.engine.begin() as connection:
            await connection.execute(_PEOPLE_0001.insert().values(
                id=1, display_name="A", role="collaborator", unit_code=None, created_at=NOW,
            ))
            await connection.execute(_REPORTS_0001.insert().values(
                id=1, code="PA-2026-000001", reporter_id=1, category_code="env",
                ward_code="w01", address=None, latitude=None, longitude=None,
                description="old", urgency="normal", status="assigned", created_at=NOW,
                acknowledge_deadline=NOW, channel="zalo",
            ))
    finally:
        await db.dispose()


async def test_upgrade_from_0001_keeps_existing_reports(empty_url: str) -> None:
    await _migrate(empty_url, "0001")
    await _add_report_at_0001(empty_url)

    await upgrade_to_head(empty_url)
    _, differences, versions, _ = await _read(empty_url)
    assert (differences, versions) == ([], [HEAD])
    db = Database.connect(empty_url)
    try:
        async with db.unit_of_work() as uow:
            report = await uow.reports.by_code("PA-2026-000001")
            assigned = await uow.reports.with_status([ReportStatus.ASSIGNED])
    finally:
        await db.dispose()
    assert report is not None and assigned == [report]
    assert (report.description, report.status, report.created_at) == (
        "old", ReportStatus.ASSIGNED, NOW
    )
    assert report.board_direct is False
    assert (report.acknowledged_at, report.assigned_unit_code, report.answer_deadline) == (
        None, None, None
    )
    assert (report.duplicate_of, report.resolved_at) == (None, None)

    # ...and back: 0002 can be undone without losing the report.
    await _migrate(empty_url, "0001", down=True)
    db = Database.connect(empty_url)
    try:
        async with db.engine.connect() as connection:
            codes = (await connection.execute(text("SELECT code FROM reports"))).scalars().all()
            version = (await connection.execute(
                text("SELECT version_num FROM alembic_version")
            )).scalar_one()
            columns = await connection.run_sync(
                lambda sync: {c["name"] for c in inspect(sync).get_columns("reports")}
            )
    finally:
        await db.dispose()
    assert (codes, version) == (["PA-2026-000001"], "0001")
    assert "board_direct" not in columns


_IDENTITIES_0001 = table(
    "channel_identities", column("channel", String), column("external_id", String),
    column("chat_id", String), column("person_id", Integer),
)
_OUTBOX_0001 = table(
    "outbox", column("channel", String), column("chat_id", String),
    column("payload", JSONDocument), column("status", String), column("attempts", Integer),
    column("priority", Integer), column("next_attempt_at", UTCDateTime),
    column("created_at", UTCDateTime),
)


async def _add_person_and_messages_at_0005(url: str) -> None:
    db = Database.connect(url)
    try:
        async with db.engine.begin() as connection:
            await connection.execute(_PEOPLE_0001.insert().values(
                id=1, display_name="A", role="collaborator", unit_code="w01", created_at=NOW,
            ))
            await connection.execute(_IDENTITIES_0001.insert().values(
                channel="zalo", external_id="z1", chat_id="zc1", person_id=1,
            ))
            await connection.execute(_OUTBOX_0001.insert(), [
                {"channel": "zalo", "chat_id": "zc1", "payload": Reply(text).to_json(),
                 "status": "pending", "attempts": 0, "priority": 0, "next_attempt_at": NOW,
                 "created_at": NOW}
                for text in ("one", "two")
            ])
    finally:
        await db.dispose()


async def _outbox_after_downgrade(url: str) -> tuple[list[str], set[str], set[str]]:
    db = Database.connect(url)
    try:
        async with db.engine.connect() as connection:
            statuses = (await connection.execute(
                text("SELECT status FROM outbox ORDER BY id")
            )).scalars().all()
            columns, tables = await connection.run_sync(lambda sync: (
                {c["name"] for c in inspect(sync).get_columns("outbox")},
                set(inspect(sync).get_table_names()),
            ))
    finally:
        await db.dispose()
    return list(statuses), columns, tables


async def test_broadcasts_revision_keeps_identities_and_messages_both_ways(
    empty_url: str,
) -> None:
    await _migrate(empty_url, "0005")
    await _add_person_and_messages_at_0005(empty_url)

    await upgrade_to_head(empty_url)
    db = Database.connect(empty_url)
    try:
        async with db.unit_of_work() as uow:
            members = await uow.broadcasts.members([Role.COLLABORATOR])
            pending = await uow.outbox.pending(5)
            assert await uow.outbox.claim([pending[0].id]) == {pending[0].id}
            await uow.commit()
    finally:
        await db.dispose()
    assert [[i.chat_id for i in m.identities] for m in members] == [["zc1"]]
    assert [i.reply.text for i in pending] == ["one", "two"]

    # ...and back: a copy being sent becomes a sent row the code before 0006 understands.
    await _migrate(empty_url, "0005", down=True)
    statuses, columns, tables = await _outbox_after_downgrade(empty_url)
    assert statuses == ["sent", "pending"]
    assert "blocked" not in columns
    assert not {"broadcasts", "broadcast_copies", "subscriptions"} & tables
