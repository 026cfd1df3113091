"""Orientation end to end: the whole service over the fake Telegram and Zalo servers.

Residents follow wards and topics on both channels, a board officer broadcasts to several
audiences from the chat, and every chat of every person is counted: each intended recipient gets
exactly one copy, nobody else any. A scheduled broadcast fires once after a restart.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.org_loader import load_org_config
from bot.settings import Settings
from domain.calendar import WorkingCalendar
from domain.clock import FixedClock, SystemClock
from domain.people import Role
from handlers.context import Services
from handlers.i18n import Catalog
from handlers.sweeps import Sweeper
from storage.database import Database
from tests.e2e.harness import invitation, running_zalo
from tests.e2e.test_cross_channel import both_channels
from tests.e2e.test_telegram_intake import file_report
from tests.fakes.telegram_api import FakeTelegram, SentMessage
from tests.fakes.telegram_users import FakeUser
from tests.fakes.zalo_api import FakeZalo
from tests.fakes.zalo_users import FakeZaloUser

SETTLE = 1.5  # several sweeps (every 0.1 s) and dispatcher passes after the last copy
REPORT = "Kết quả gửi định hướng {code}"
COPY = "📢 THÔNG TIN ĐỊNH HƯỚNG"  # how every copy begins (handlers/locales/vi.broadcast.yaml)


def settings_for(url: str, tmp_path: Path, tg: FakeTelegram, zalo: FakeZalo) -> Settings:
    return both_channels(url, tmp_path, tg, zalo).model_copy(update={"sweep_seconds": 0.1})


# --- acting on Telegram ------------------------------------------------------------------------

def shown(message: SentMessage) -> str:
    """A message as its reader sees it: the text, then the labels of its buttons."""
    return "\n".join([message.plain, *message.button_texts])


async def tg_do(user: FakeUser, action: Awaitable[object], expect: str) -> str:
    """Do something, then wait for a *new* message to this chat showing `expect`."""
    tg, start = user.tg, len(user.tg.sent(user.chat_id))
    await action

    def new() -> list[str]:
        return [shown(m) for m in tg.sent(user.chat_id)[start:]]

    try:
        await tg.wait_for(lambda: any(expect in m for m in new()), timeout=10)
    except TimeoutError:
        raise AssertionError(f"{user.first_name} never saw {expect!r}: {new()}") from None
    return "\n".join(new())


async def tg_choose(user: FakeUser, label: str, expect: str) -> str:
    """Press the button of the newest keyboard whose label contains `label`."""
    message = next(m for m in reversed(user.tg.sent(user.chat_id)) if m.buttons)
    full = next((t for t in message.button_texts if label in t), None)
    assert full is not None, f"no button {label!r} in {message.button_texts}"
    return await tg_do(user, user.press(full, message.message_id), expect)


async def tg_join(tg: FakeTelegram, url: str, user_id: int, name: str, role: Role | None,
                  unit: str | None = None) -> FakeUser:
    user = tg.user(id=user_id, first_name=name)
    code = "" if role is None else " " + await invitation(url, role, unit)
    await tg_do(user, user.send_text(f"/start{code}".rstrip()), "")
    return user


# --- acting on Zalo (no buttons: numbered lines, typed) ----------------------------------------

async def zalo_do(user: FakeZaloUser, text: str, expect: str) -> str:
    user.mark()
    start = len(user.texts())
    await user.send_text(text)
    await user.zalo.wait_for(lambda: any(expect in t for t in user.texts()[start:]),
                             what=f"{user.display_name}: {expect!r} after {text!r}")
    return "\n".join(user.texts()[start:])


async def zalo_join(zalo: FakeZalo, url: str, user_id: str, name: str, role: Role,
                    unit: str) -> FakeZaloUser:
    user = zalo.user(user_id, name)
    await zalo_do(user, await invitation(url, role, unit), "Đăng ký thành công")
    return user


async def zalo_choose(user: FakeZaloUser, label: str, expect: str) -> str:
    """Type the number of the newest numbered line containing `label`."""
    for text in reversed(user.texts()):
        found = re.search(rf"^(\d+)\. [^\n]*{re.escape(label)}", text, re.MULTILINE)
        if found:
            return await zalo_do(user, found.group(1), expect)
    raise AssertionError(f"no choice {label!r} shown to {user.display_name}")


# --- people ------------------------------------------------------------------------------------

async def follow_on_telegram(user: FakeUser, wards: list[str], topics: list[str]) -> None:
    await tg_do(user, user.send_text("/theodoi"), "Bước 1/2")
    for ward in wards:
        await tg_choose(user, ward, f"✅ {ward}")
    await tg_choose(user, "Xong", "Bước 2/2")
    for topic in topics:
        await tg_choose(user, topic, f"✅ {topic}")
    await tg_choose(user, "Xong", "Đã lưu")


async def follow_on_zalo(user: FakeZaloUser, wards: list[str], topics: list[str]) -> None:
    await zalo_do(user, "/theodoi", "Bước 1/2")
    for ward in wards:
        await zalo_choose(user, ward, f"✅ {ward}")
    await zalo_choose(user, "Xong", "Bước 2/2")
    for topic in topics:
        await zalo_choose(user, topic, f"✅ {topic}")
    await zalo_choose(user, "Xong", "Đã lưu")


async def write_orientation(board: FakeUser, text: str,
                            audience: Callable[[], Awaitable[str]]) -> str:
    """/dinhhuong → text → no photo → the audience's steps → preview; returns the preview."""
    await tg_do(board, board.send_text("/dinhhuong"), "Soạn thông tin định hướng")
    await tg_do(board, board.send_text(text), "Gửi kèm một ảnh")
    await tg_choose(board, "Bỏ qua", "Gửi tới ai")
    return await audience()


def code_after(confirmation: str, shown: str) -> str:
    """The code in the line that says `confirmation`: an earlier orientation's delivery report,
    which names its own code, may arrive in the same moment."""
    found = re.search(rf"{re.escape(confirmation)} (DH-\d{{4}}-\d{{6}})", shown)
    assert found, shown
    return found.group(1)


async def send_now(board: FakeUser) -> str:
    return code_after("Đã gửi định hướng", await tg_choose(board, "Gửi ngay", "Đã gửi định hướng"))


def copies_of(text: str, tg: FakeTelegram, zalo: FakeZalo,
              names: dict[str, int | str]) -> dict[str, int]:
    """How many copies of the orientation `text` every chat of both fakes received, by the
    person's name in `names` (a chat not named shows as its id); chats with none left out.

    A copy is what recipients get; the author's preview also shows it, after its own heading.
    """
    who = {chat: name for name, chat in names.items()}
    chats: list[tuple[int | str, list[str]]] = [
        *((chat, tg.texts(chat)) for chat in tg.chats),
        *((chat, zalo.texts(chat)) for chat in zalo.known_chats),
    ]
    counted = {}
    for chat, texts in chats:
        number = sum(1 for t in texts if t.startswith(COPY) and text in t)
        if number:
            counted[who.get(chat, str(chat))] = number
    return counted


async def broadcasts_json(url: str) -> dict[str, dict[str, Any]]:
    """What an operator reads: `dlxh broadcasts list --json`, run as a command."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "broadcasts", "list", "--json",
        env={**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "WARNING"},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    return {row["code"]: row for row in json.loads(out)}


def counts(row: dict[str, Any]) -> tuple[int, ...]:
    names = ("recipients", "delivered", "failed", "blocked", "skipped", "pending", "relayed")
    return tuple(row[name] for name in names)


# --- the tests ---------------------------------------------------------------------------------

# Telegram users are ints, Zalo users strings.
CHATS: dict[str, int | str] = {
    "hung": 9001, "lan": 9002, "lan-zalo": "lan-z", "mai": "mai-z", "minh": 9003,
    "quang": "quang-z", "an": 9004, "binh": "binh-z", "chi": 9005, "dung": "dung-z",
}


async def test_each_audience_reaches_exactly_its_people_once_on_both_channels(
    tg: FakeTelegram, zalo: FakeZalo, clean_database_url: str, tmp_path: Path
) -> None:
    url = clean_database_url
    async with running_zalo(settings_for(url, tmp_path, tg, zalo), zalo):
        board = await tg_join(tg, url, 9001, "Hùng", Role.BOARD)
        lan = await tg_join(tg, url, 9002, "Lan", Role.COLLABORATOR, "bo-de")
        await tg_join(tg, url, 9003, "Minh", Role.HANDLER, "bo-de")
        mai = await zalo_join(zalo, url, "mai-z", "Mai", Role.COLLABORATOR, "gia-thuy")
        await zalo_join(zalo, url, "quang-z", "Quang", Role.HANDLER, "qldt")  # a department
        # Lan is on Zalo too, linked: still one copy each time (on Telegram, joined first).
        shown = await tg_do(lan, lan.send_text("/lienket"), "/lienket ")
        link = shown.split("/lienket ")[-1].split()[0]
        await zalo_do(zalo.user("lan-z", "Lan Z"), f"/lienket {link}", "Đã liên kết")

        an = await tg_join(tg, url, 9004, "An", None)
        await follow_on_telegram(an, ["Phường Bồ Đề"], [])
        await follow_on_zalo(zalo.user("binh-z", "Bình"), [], ["Vệ sinh môi trường"])
        chi = await tg_join(tg, url, 9005, "Chi", None)
        await follow_on_telegram(chi, ["Phường Bồ Đề"], ["Vệ sinh môi trường"])
        await tg_do(chi, chi.send_text("/huytheodoi"), "Đã dừng nhận")
        await zalo_do(zalo.user("dung-z", "Dũng"), "xin chào", "")  # follows nothing

        async def collaborators() -> str:
            return await tg_choose(board, "Tất cả cộng tác viên", "Xem lại trước khi gửi")

        preview = await write_orientation(board, "Định hướng một: lịch tiêm chủng", collaborators)
        assert "Số người nhận: 2 (Telegram: 1 · Zalo: 1)" in preview
        first = await send_now(board)
        await tg.wait_for(lambda: any(REPORT.format(code=first) in t for t in tg.texts(9001)),
                          timeout=10, message="no delivery report")
        # "Đã phổ biến": Lan presses the button on Telegram, Mai types it on Zalo.
        copy = next(m for m in tg.sent(9002) if "Định hướng một" in m.plain)
        await tg_do(lan, lan.press("✅ Đã phổ biến", copy.message_id), "Đã ghi nhận")
        await zalo_do(mai, "đã phổ biến", "Đã ghi nhận")

        async def residents() -> str:
            await tg_choose(board, "Người dân theo dõi", "phường nào")
            await tg_choose(board, "Phường Bồ Đề", "✅ Phường Bồ Đề")
            await tg_choose(board, "Xong", "chủ đề nào")
            await tg_choose(board, "Vệ sinh môi trường", "✅ Vệ sinh môi trường")
            return await tg_choose(board, "Xong", "Xem lại trước khi gửi")

        preview = await write_orientation(board, "Định hướng hai: thu gom rác", residents)
        assert "Số người nhận: 2 (Telegram: 1 · Zalo: 1)" in preview
        second = await send_now(board)

        async def ward_tier() -> str:
            await tg_choose(board, "Theo cấp", "cấp nào")
            return await tg_choose(board, "Cấp phường", "Xem lại trước khi gửi")

        preview = await write_orientation(board, "Định hướng ba: cấp phường", ward_tier)
        assert "Số người nhận: 3 (Telegram: 2 · Zalo: 1)" in preview
        third = await send_now(board)

        async def district_tier() -> str:
            await tg_choose(board, "Theo cấp", "cấp nào")
            return await tg_choose(board, "Cấp quận", "Xem lại trước khi gửi")

        await write_orientation(board, "Định hướng bốn: cấp quận", district_tier)
        fourth = await send_now(board)

        codes = [first, second, third, fourth]
        await tg.wait_for(
            lambda: all(any(REPORT.format(code=c) in t for t in tg.texts(9001)) for c in codes),
            timeout=15, message="a delivery report is missing",
        )
        await asyncio.sleep(SETTLE)  # later sweeps and passes must send nothing more

    assert copies_of("Định hướng một", tg, zalo, CHATS) == {"lan": 1, "mai": 1}
    assert copies_of("Định hướng hai", tg, zalo, CHATS) == {"an": 1, "binh": 1}
    assert copies_of("Định hướng ba", tg, zalo, CHATS) == {"lan": 1, "mai": 1, "minh": 1}
    # The author is of the district level himself: left out.
    assert copies_of("Định hướng bốn", tg, zalo, CHATS) == {"quang": 1}
    reports = [t for t in tg.texts(9001) if "Kết quả gửi định hướng" in t]
    assert len(reports) == 4
    first_report = next(t for t in reports if first in t)
    assert "Người nhận: 2" in first_report and "Đã nhận: 2" in first_report

    listed = await broadcasts_json(url)
    assert {code: listed[code]["status"] for code in codes} == dict.fromkeys(codes, "done")
    assert counts(listed[first]) == (2, 2, 0, 0, 0, 0, 2)  # both relayed it
    assert counts(listed[second]) == (2, 2, 0, 0, 0, 0, 0)  # residents are not asked to
    assert counts(listed[third]) == (3, 3, 0, 0, 0, 0, 0)
    assert counts(listed[fourth]) == (1, 1, 0, 0, 0, 0, 0)
    assert listed[second]["audience"]["wards"] == ["bo-de"]
    assert listed[third]["audience"] == {
        "kind": "tier", "tier": "ward", "wards": [], "topics": [], "case": None,
    }


async def test_a_scheduled_broadcast_fires_once_after_a_restart(
    tg: FakeTelegram, zalo: FakeZalo, clean_database_url: str, tmp_path: Path
) -> None:
    url = clean_database_url
    clock = FixedClock(SystemClock().now())
    settings = settings_for(url, tmp_path, tg, zalo)
    local = ZoneInfo(load_org_config().working_time.timezone)
    send_at = (clock.now() + timedelta(days=2)).astimezone(local).replace(
        hour=8, minute=0, second=0, microsecond=0
    )
    async with running_zalo(settings, zalo, clock):
        board = await tg_join(tg, url, 9101, "Hùng", Role.BOARD)
        await tg_join(tg, url, 9102, "Lan", Role.COLLABORATOR, "bo-de")
        await zalo_join(zalo, url, "mai-z", "Mai", Role.COLLABORATOR, "gia-thuy")

        async def collaborators() -> str:
            return await tg_choose(board, "Tất cả cộng tác viên", "Xem lại trước khi gửi")

        await write_orientation(board, "Hẹn giờ: họp tổ dân phố", collaborators)
        await tg_choose(board, "Hẹn giờ", "Gửi lúc nào")
        await tg_do(board, board.send_text(send_at.strftime("%d/%m/%Y %H:%M")), "Hẹn gửi lúc")
        done = await tg_choose(board, "Xác nhận hẹn giờ", "Đã hẹn giờ định hướng")
        code = code_after("Đã hẹn giờ định hướng", done)
        clock.set(send_at.astimezone(ZoneInfo("UTC")) - timedelta(minutes=1))
        await asyncio.sleep(SETTLE)  # sweeps a minute early: nothing goes
        assert copies_of("Hẹn giờ: họp tổ dân phố", tg, zalo, {}) == {}
    # Down over the broadcast's time; started again three hours after it.
    clock.set(send_at.astimezone(ZoneInfo("UTC")) + timedelta(hours=3))
    async with running_zalo(settings, zalo, clock):
        await tg.wait_for(lambda: any(REPORT.format(code=code) in t for t in tg.texts(9101)),
                          timeout=15, message="no delivery report after the restart")
        await asyncio.sleep(SETTLE)
        # Two more sweeps, as another process would run them: nothing to launch or close.
        for _ in range(2):
            result = await _sweep_once(url, clock)
            assert result == ([], [])
        await asyncio.sleep(SETTLE)

    people: dict[str, int | str] = {"lan": 9102, "mai": "mai-z", "hung": 9101}
    assert copies_of("Hẹn giờ: họp tổ dân phố", tg, zalo, people) == {"lan": 1, "mai": 1}
    assert sum(REPORT.format(code=code) in t for t in tg.texts(9101)) == 1
    row = (await broadcasts_json(url))[code]
    assert row["status"] == "done" and counts(row)[:2] == (2, 2)
    assert row["send_at"] is not None and row["started_at"] is not None


async def _sweep_once(url: str, clock: FixedClock) -> tuple[list[str], list[str]]:
    """One sweep by a Sweeper of its own over the same database."""
    org = load_org_config()
    services = Services(org, WorkingCalendar(org.working_time), clock, Catalog("vi"))
    database = Database.connect(url)
    try:
        result = await Sweeper(database.unit_of_work, services).run_once()
    finally:
        await database.dispose()
    return ([c for c, _ in result.broadcasts_launched],
            [c for c, _ in result.broadcasts_finished])




async def test_a_case_broadcast_reaches_those_concerned_and_never_names_the_reporter(
    tg: FakeTelegram, zalo: FakeZalo, clean_database_url: str, tmp_path: Path
) -> None:
    url = clean_database_url
    names: dict[str, int | str] = {
        "hung": 9201, "lan": 9200, "minh": 9202, "mai": 9203, "an": 9204, "chi": 9205,
        "tam": "tam-z", "hoa": "hoa-z", "binh": "binh-z",
    }
    async with running_zalo(settings_for(url, tmp_path, tg, zalo), zalo):
        board = await tg_join(tg, url, 9201, "Hùng", Role.BOARD)
        await tg_join(tg, url, 9202, "Minh", Role.HANDLER, "bo-de")
        await tg_join(tg, url, 9203, "Mai", Role.COLLABORATOR, "gia-thuy")
        await zalo_join(zalo, url, "tam-z", "Tâm", Role.HANDLER, "gia-thuy")
        await zalo_join(zalo, url, "hoa-z", "Hoa", Role.COLLABORATOR, "bo-de")
        an = await tg_join(tg, url, 9204, "An", None)
        await follow_on_telegram(an, ["Phường Bồ Đề"], [])
        chi = await tg_join(tg, url, 9205, "Chi", None)
        await follow_on_telegram(chi, ["Phường Việt Hưng"], ["Vệ sinh môi trường"])
        await follow_on_zalo(zalo.user("binh-z", "Bình"), [], ["Trật tự xây dựng"])

        lan = tg.user(id=9200, first_name="Lan")
        filed = await file_report(lan, await invitation(url))  # Bồ Đề, Trật tự xây dựng
        case = next(w for w in filed.split() if w.startswith("PA-")).rstrip(".")
        await tg.wait_for(lambda: any("Giao xử lý" in shown(m) for m in tg.sent(9201)))
        await tg_choose(board, "Giao xử lý", "cho đơn vị nào")
        await tg_choose(board, "Phường Bồ Đề (đề xuất)", "Hạn trả lời")
        await tg_choose(board, "Theo quy định", "Đã giao")

        async def concerned() -> str:
            await tg_choose(board, "Liên quan một vụ việc", "Gõ mã vụ việc")
            return await tg_do(board, board.send_text(case), "Xem lại trước khi gửi")

        preview = await write_orientation(board, "Vụ lấn vỉa hè đã được xử lý", concerned)
        assert "Số người nhận: 5 (Telegram: 3 · Zalo: 2)" in preview
        code = await send_now(board)
        await tg.wait_for(lambda: any(REPORT.format(code=code) in t for t in tg.texts(9201)),
                          timeout=10, message="no delivery report")
        await asyncio.sleep(SETTLE)

    # The reporter, the assigned unit's handler, the ward's collaborators, the residents
    # following the ward or the case's category; not the other ward's people, not the author.
    assert copies_of("Vụ lấn vỉa hè", tg, zalo, names) == {
        "lan": 1, "minh": 1, "hoa": 1, "an": 1, "binh": 1,
    }
    copies = [t for chat in (9200, 9202, 9204) for t in tg.texts(chat) if t.startswith(COPY)]
    copies += [t for chat in ("hoa-z", "binh-z") for t in zalo.texts(chat) if t.startswith(COPY)]
    assert len(copies) == 5 and not any("Lan" in t for t in copies)
    row = (await broadcasts_json(url))[code]
    assert row["case"] == case and row["audience"]["kind"] == "case"
    assert counts(row)[:2] == (5, 5)
