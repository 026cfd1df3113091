"""The escalation ladder end to end: the real service, its scheduler and the fake Bot API, with a
fixed clock moved forward instead of waiting. Every person gets each message exactly once."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.org_loader import load_org_config
from bot.settings import Settings
from domain.clock import FixedClock
from domain.people import Role
from handlers.admin import create_invitations
from storage.database import Database
from tests.e2e.harness import free_port, invitation, running, service_settings
from tests.e2e.test_telegram_cases import answer_to, press_starting
from tests.e2e.test_telegram_intake import file_report
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.telegram_users import FakeUser
from tests.processes import HOST, LIBFAKETIME, clean_environ, serving

# Monday 30 Nov 2026 09:00 in Hà Nội; "as the rules say" gives a normal case 3 working days.
MONDAY_9AM = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
REMINDER = datetime(2026, 12, 2, 3, 52, 30, tzinfo=UTC)  # 75 % of 22.5 working hours
DEADLINE = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)  # Thursday 09:00
BOARD_STEP = datetime(2026, 12, 4, 2, 0, tzinfo=UTC)  # Friday 09:00
LEADER_STEP = datetime(2026, 12, 8, 2, 0, tzinfo=UTC)  # Tuesday 09:00
PEOPLE = {"minh": 7102, "head": 7103, "tam": 7104, "hung": 7101, "leader": 7105, "lan": 7100}
SETTLE = 1.5  # several sweeps (every 0.1 s) and dispatcher passes (every 1 s) after a step


def ladder_settings(url: str, tmp_path: Path, tg: FakeTelegram) -> Settings:
    return service_settings(url, tmp_path, tg).model_copy(update={"sweep_seconds": 0.1})


async def lead_invitation(url: str, role: Role, unit: str | None) -> str:
    database = Database.connect(url)
    try:
        async with database.unit_of_work() as uow:
            [invite] = await create_invitations(
                uow, load_org_config(), role, unit, 1, MONDAY_9AM, lead=True
            )
            await uow.commit()
        return invite.code
    finally:
        await database.dispose()


async def join(tg: FakeTelegram, name: str, code: str) -> FakeUser:
    person = tg.user(id=PEOPLE[name], first_name=name.title())
    await answer_to(person, person.send_text(f"/start {code}"), "Đăng ký thành công")
    return person


async def staff_joins(tg: FakeTelegram, url: str) -> FakeUser:
    """Everyone but the reporter; returns the board officer."""
    board = await join(tg, "hung", await invitation(url, Role.BOARD, None))
    await join(tg, "minh", await invitation(url, Role.HANDLER, "bo-de"))
    await join(tg, "head", await lead_invitation(url, Role.HANDLER, "bo-de"))
    await join(tg, "tam", await invitation(url, Role.HANDLER, "gia-thuy"))
    await join(tg, "leader", await lead_invitation(url, Role.BOARD, None))
    return board


async def assigned_case(tg: FakeTelegram, url: str, board: FakeUser) -> str:
    lan = tg.user(id=PEOPLE["lan"], first_name="Lan")
    done = await file_report(lan, await invitation(url))
    code = next(w for w in done.split() if w.startswith("PA-")).rstrip(".")
    await tg.wait_for(lambda: any("Giao xử lý" in str(m.buttons) for m in tg.sent(7101)))
    await answer_to(board, board.press("📤 Giao xử lý"), "cho đơn vị nào")
    await answer_to(board, board.press("✅ Phường Bồ Đề (đề xuất)"), "Hạn trả lời")
    await answer_to(board, press_starting(board, "⏱️ Theo quy định"), "Đã giao")
    return code


STEP_TEXT = {
    "reminder": "Nhắc việc: vụ việc {code}",
    "deadline": "Đến hạn: vụ việc {code}",
    "board": "Quá hạn: vụ việc {code}",
    "leader": "Báo cáo lãnh đạo: vụ việc {code}",
}


def received(tg: FakeTelegram, code: str) -> dict[str, list[str]]:
    """Which escalation messages each person got, in order."""
    found: dict[str, list[str]] = {}
    for name, chat in PEOPLE.items():
        steps = [
            step for text in tg.texts(chat) for step, marker in STEP_TEXT.items()
            if marker.format(code=code) in text
        ]
        if steps:
            found[name] = steps
    return found


async def move_to(tg: FakeTelegram, clock: FixedClock, moment: datetime, code: str,
                  expected: dict[str, list[str]]) -> None:
    clock.set(moment)
    await tg.wait_for(lambda: received(tg, code) == expected, timeout=10,
                      message=f"expected {expected}, got {received(tg, code)}")
    await asyncio.sleep(SETTLE)  # later sweeps must not send anything again
    assert received(tg, code) == expected


async def test_a_whole_ladder_every_message_exactly_once(
    tg: FakeTelegram, clean_database_url: str, tmp_path: Path
) -> None:
    url, clock = clean_database_url, FixedClock(MONDAY_9AM)
    async with running(ladder_settings(url, tmp_path, tg), tg, clock):
        code = await assigned_case(tg, url, await staff_joins(tg, url))
        await move_to(tg, clock, REMINDER - timedelta(seconds=1), code, {})
        expected = {"minh": ["reminder"]}
        await move_to(tg, clock, REMINDER, code, expected)
        expected = {"minh": ["reminder", "deadline"], "head": ["deadline"]}
        await move_to(tg, clock, DEADLINE, code, expected)
        await move_to(tg, clock, BOARD_STEP, code, {**expected, "hung": ["board"]})
        expected |= {"hung": ["board"], "leader": ["leader"]}
        await move_to(tg, clock, LEADER_STEP, code, expected)
        await move_to(tg, clock, LEADER_STEP + timedelta(days=20), code, expected)
    assert tg.texts(PEOPLE["tam"])[1:] == []  # the other unit heard nothing after joining
    assert all("Lan" not in t for t in tg.texts(PEOPLE["minh"]) + tg.texts(PEOPLE["head"]))


async def test_a_restart_after_two_days_down_fires_each_missed_step_once(
    tg: FakeTelegram, clean_database_url: str, tmp_path: Path
) -> None:
    url, clock = clean_database_url, FixedClock(MONDAY_9AM)
    settings = ladder_settings(url, tmp_path, tg)
    async with running(settings, tg, clock):
        code = await assigned_case(tg, url, await staff_joins(tg, url))
        await move_to(tg, clock, REMINDER - timedelta(seconds=1), code, {})
    clock.set(BOARD_STEP + timedelta(hours=5))  # down from Wednesday to Friday afternoon
    async with running(settings, tg, clock):
        expected = {
            "minh": ["reminder", "deadline"], "head": ["deadline"], "hung": ["board"],
        }
        await move_to(tg, clock, clock.now(), code, expected)


async def test_verification_silence_closes_the_case_once(
    tg: FakeTelegram, clean_database_url: str, tmp_path: Path
) -> None:
    from tests.e2e.test_telegram_cases import case_json

    url, clock = clean_database_url, FixedClock(MONDAY_9AM)
    async with running(ladder_settings(url, tmp_path, tg), tg, clock):
        board = await staff_joins(tg, url)
        code = await assigned_case(tg, url, board)
        minh = tg.user(id=PEOPLE["minh"], first_name="Minh")
        await tg.wait_for(lambda: any("Trả lời" in str(m.buttons) for m in tg.sent(7102)))
        await answer_to(minh, minh.press("📨 Trả lời"), "Gõ nội dung trả lời")
        await answer_to(minh, minh.send_text("Đã dọn xong"), "Gửi ảnh kết quả")
        await answer_to(minh, minh.press("🚫 Không có ảnh"), "Vì sao không có ảnh")
        await answer_to(minh, minh.send_text("Hết pin"), "Đã gửi trả lời")
        await tg.wait_for(lambda: any("Chấp nhận" in str(m.buttons) for m in tg.sent(7101)))
        await answer_to(board, board.press("✅ Chấp nhận trả lời"), "Đã chấp nhận")
        lan = PEOPLE["lan"]
        await tg.wait_for(lambda: any("thực sự được giải quyết" in t for t in tg.texts(lan)))
        clock.set(MONDAY_9AM + timedelta(days=3))  # within 5 working days: still asked
        await asyncio.sleep(SETTLE)
        assert (await case_json(url, code))["status"] == "verifying"
        clock.set(MONDAY_9AM + timedelta(days=9))  # past them: closed as not verified
        await tg.wait_for(lambda: any("chưa nhận được xác nhận" in t for t in tg.texts(lan)))
        await asyncio.sleep(SETTLE)
    closing = [t for t in tg.texts(lan) if "chưa nhận được xác nhận" in t]
    assert len(closing) == 1
    case = await case_json(url, code)
    assert case["status"] == "closed" and case["timeline"][-1]["note"] == "not_verified"


# ---- the same ladder, the service in its own process under libfaketime ----------------------
ROOT = Path(__file__).resolve().parents[2]
MARGIN = timedelta(minutes=5)  # the case is assigned some seconds after 09:00: its steps too


def faked_service_env(url: str, tmp_path: Path, tg: FakeTelegram, port: int) -> dict[str, str]:
    assert LIBFAKETIME is not None
    return clean_environ() | {
        "DATABASE_URL": url, "MEDIA_DIR": str(tmp_path / "media"),
        "TELEGRAM_BOT_TOKEN": tg.token, "TELEGRAM_API_BASE": tg.base_url,
        "HTTP_HOST": HOST, "HTTP_PORT": str(port),
        # A deployment's interval: each jump must run the overdue sweep within a second anyway.
        "SWEEP_SECONDS": "60",
        # The system clock as the outside check shifts it: read from the file at every call.
        "LD_PRELOAD": LIBFAKETIME, "FAKETIME_TIMESTAMP_FILE": str(tmp_path / "faketime"),
        "FAKETIME_NO_CACHE": "1", "TZ": "UTC",
    }


def set_system_clock(tmp_path: Path, moment: datetime) -> None:
    """From now on the service's clock reads `moment`, and runs on from there."""
    (tmp_path / "faketime").write_text(f"@{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S}\n")


async def shift_to(tg: FakeTelegram, tmp_path: Path, moment: datetime, code: str,
                   expected: dict[str, list[str]]) -> None:
    set_system_clock(tmp_path, moment)
    await tg.wait_for(lambda: received(tg, code) == expected, timeout=15,
                      message=f"at {moment}: expected {expected}, got {received(tg, code)}")
    await asyncio.sleep(SETTLE)  # later sweeps must not send anything again
    assert received(tg, code) == expected


def reviews(tg: FakeTelegram, name: str) -> list[str]:
    return [t for t in tg.texts(PEOPLE[name]) if "Báo cáo tháng" in t]


async def monthly_json(env: dict[str, str], month: str) -> dict[str, Any]:
    """`dlxh report monthly --json`, run under the same shifted clock."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "report", "monthly", "--month", month, "--json",
        env=env | {"LOG_LEVEL": "WARNING"}, cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    figures: dict[str, Any] = json.loads(out)
    return figures


@pytest.mark.skipif(LIBFAKETIME is None, reason="no libfaketime (.ci/run installs it)")
async def test_under_a_shifted_system_clock_each_person_gets_each_step_once(
    tg: FakeTelegram, clean_database_url: str, tmp_path: Path
) -> None:
    """What the outside check does: `dlxh serve` with LD_PRELOAD=libfaketime, the clock moved
    past each deadline, every person's reminders counted, then the monthly review."""
    url, port = clean_database_url, free_port()
    env = faked_service_env(url, tmp_path, tg, port)
    set_system_clock(tmp_path, MONDAY_9AM)
    async with serving(env, ROOT, tmp_path / "serve.log", port):
        code = await assigned_case(tg, url, await staff_joins(tg, url))
        await shift_to(tg, tmp_path, REMINDER - MARGIN, code, {})
        expected = {"minh": ["reminder"]}
        await shift_to(tg, tmp_path, REMINDER + MARGIN, code, expected)
        expected = {"minh": ["reminder", "deadline"], "head": ["deadline"]}
        await shift_to(tg, tmp_path, DEADLINE + MARGIN, code, expected)
        expected |= {"hung": ["board"]}
        await shift_to(tg, tmp_path, BOARD_STEP + MARGIN, code, expected)
        expected |= {"leader": ["leader"]}
        await shift_to(tg, tmp_path, LEADER_STEP + MARGIN, code, expected)
        await shift_to(tg, tmp_path, LEADER_STEP + timedelta(days=20), code, expected)
        # November's review went to the board on 1 December, once: one report, none overdue yet.
        for officer in ("hung", "leader"):
            [review] = reviews(tg, officer)
            assert "Báo cáo tháng 11/2026: 1 phản ánh" in review  # written as people write it
            assert "Đang quá hạn: 0" in review
    assert tg.texts(PEOPLE["tam"])[1:] == []  # the other unit heard nothing after joining
    figures = await monthly_json(env, "2026-11")
    assert figures["total"] == 1 and figures["by_status"] == {"assigned": 1}
    [overdue] = figures["overdue"]
    assert overdue["code"] == code and overdue["deadline"] == "answer"
    late = (LEADER_STEP + timedelta(days=20) - DEADLINE).total_seconds() / 3600
    assert abs(overdue["late_hours"] - late) <= 1
