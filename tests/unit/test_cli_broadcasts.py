"""`dlxh broadcasts list|show [--json]`: what an operator reads about each broadcast."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from bot.admin_commands import CommandError
from bot.broadcast_commands import run
from bot.cli import _parser
from domain.broadcasts import Audience, AudienceKind, Broadcast, BroadcastStatus, Tier
from domain.clock import FixedClock
from domain.people import Role
from handlers.sweeps import Sweeper
from tests.conversation_harness import MONDAY_9AM, services
from tests.fakes.memory_uow import MemoryStore

SEND_AT = MONDAY_9AM + timedelta(hours=1)


async def dlxh(store: MemoryStore, capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    capsys.readouterr()
    assert await run(_parser().parse_args(["broadcasts", *argv]), store) == 0
    return capsys.readouterr().out


async def add(store: MemoryStore, author: int, audience: Audience, **fields: object) -> str:
    async with store() as uow:
        number = await uow.broadcasts.next_number(2026)
        broadcast = Broadcast(
            None, f"DH-2026-{number:06d}", author, "Lịch tiêm chủng", None, audience,
            BroadcastStatus.SCHEDULED, MONDAY_9AM + timedelta(minutes=number), SEND_AT,
        )
        for name, value in fields.items():
            setattr(broadcast, name, value)
        stored = await uow.broadcasts.add(broadcast)
        await uow.commit()
    return stored.code


@pytest.fixture
async def store() -> MemoryStore:
    """Hùng sent one broadcast (delivered to Lan, failed for Mai; Lan relayed it), scheduled a
    second one, and cancelled a third."""
    store, clock = MemoryStore(), FixedClock(MONDAY_9AM)
    async with store() as uow:
        hung = await uow.people.add("Hùng", Role.BOARD, "btg", MONDAY_9AM, ("console", "h", "h"))
        lan = await uow.people.add(
            "Lan", Role.COLLABORATOR, "bo-de", MONDAY_9AM, ("telegram", "1", "1")
        )
        await uow.people.add("Mai", Role.COLLABORATOR, "gia-thuy", MONDAY_9AM, ("zalo", "m", "m"))
        await uow.commit()
    await add(store, hung.id, Audience(AudienceKind.COLLABORATORS))
    await add(store, hung.id, Audience(AudienceKind.TIER, tier=Tier.WARD),
              send_at=SEND_AT + timedelta(days=2))
    await add(store, hung.id, Audience(AudienceKind.CASE, case_code="PA-2026-000004"),
              status=BroadcastStatus.CANCELLED, case_code="PA-2026-000004")
    clock.set(SEND_AT)
    await Sweeper(store, services(clock)).run_once()
    async with store() as uow:
        by_chat = {i.chat_id: i.id for i in await uow.outbox.all()}
        await uow.outbox.mark_sent(by_chat["1"], SEND_AT)
        await uow.outbox.mark_failed(by_chat["m"], SEND_AT, "Bad Request: chat not found")
        await uow.broadcasts.relay(1, lan.id, SEND_AT)
        await uow.commit()
    return store


async def test_list_json_gives_every_broadcast_with_its_counts(
    store: MemoryStore, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = json.loads(await dlxh(store, capsys, "list", "--json"))
    assert [(r["code"], r["status"]) for r in rows] == [
        ("DH-2026-000001", "sending"), ("DH-2026-000002", "scheduled"),
        ("DH-2026-000003", "cancelled"),
    ]
    sent = rows[0]
    assert {k: sent[k] for k in ("recipients", "delivered", "failed", "blocked", "skipped",
                                 "pending", "relayed")} == {
        "recipients": 2, "delivered": 1, "failed": 1, "blocked": 0, "skipped": 0,
        "pending": 0, "relayed": 1,
    }
    assert sent["author"] == "Hùng" and sent["audience"]["kind"] == "collaborators"
    assert sent["send_at"] == SEND_AT.isoformat() and sent["started_at"] == SEND_AT.isoformat()
    assert sent["finished_at"] is None and sent["case"] is None
    assert sent["created_at"] == (MONDAY_9AM + timedelta(minutes=1)).isoformat()
    scheduled = rows[1]
    assert scheduled["audience"] == {
        "kind": "tier", "tier": "ward", "wards": [], "topics": [], "case": None,
    }
    assert scheduled["recipients"] == 0 and scheduled["started_at"] is None
    assert rows[2]["case"] == "PA-2026-000004"


async def test_list_as_a_table(store: MemoryStore, capsys: pytest.CaptureFixture[str]) -> None:
    lines = (await dlxh(store, capsys, "list")).splitlines()
    assert lines[0].split()[:3] == ["CODE", "STATUS", "SEND"]
    first = lines[1].split()
    assert first[:2] == ["DH-2026-000001", "sending"]
    assert first[4:11] == ["2", "1", "1", "0", "0", "0", "1"]
    assert first[-2:] == ["Hùng", "collaborators"]
    assert lines[2].split()[-1] == "tier:ward" and lines[3].split()[-1] == "case:PA-2026-000004"


async def test_an_empty_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert json.loads(await dlxh(MemoryStore(), capsys, "list", "--json")) == []
    assert "no broadcasts" in await dlxh(MemoryStore(), capsys, "list")


async def test_show_one_with_its_text(
    store: MemoryStore, capsys: pytest.CaptureFixture[str]
) -> None:
    row = json.loads(await dlxh(store, capsys, "show", "dh-2026-000001", "--json"))
    assert (row["code"], row["delivered"], row["text"]) == ("DH-2026-000001", 1, "Lịch tiêm chủng")
    plain = await dlxh(store, capsys, "show", "DH-2026-000001")
    assert "relayed=1" in plain and "Lịch tiêm chủng" in plain
    with pytest.raises(CommandError, match="no broadcast DH-2026-000099"):
        await run(_parser().parse_args(["broadcasts", "show", "DH-2026-000099"]), store)
