"""A case's whole life over Telegram, with a collaborator, a board officer and two handlers."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from domain.people import Role
from tests.e2e.harness import invitation, running, service_settings
from tests.e2e.test_telegram_intake import file_report
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.telegram_users import FakeUser


async def joined(tg: FakeTelegram, url: str, user_id: int, name: str, role: Role,
                 unit: str | None) -> FakeUser:
    person = tg.user(id=user_id, first_name=name)
    await person.send_text(f"/start {await invitation(url, role, unit)}")
    await person.wait_reply(1)
    return person


async def answer_to(person: FakeUser, action: object, expect: str) -> str:
    """Do something, then wait until the chat shows `expect`; returns all new texts (and the
    last one before, which an action like `wait_reply` may already have brought)."""
    await action  # type: ignore[misc]
    tg = person.tg
    start = len(tg.texts(person.chat_id))
    await tg.wait_for(lambda: any(expect in t for t in tg.texts(person.chat_id)[start - 1:]),
                      timeout=10, message=f"{person.first_name} never saw {expect!r}; saw "
                      f"{tg.texts(person.chat_id)[start - 1:]!r}, {len(tg.pending_updates)} "
                      "updates not fetched")
    return "\n".join(tg.texts(person.chat_id)[start - 1:])


async def press_starting(person: FakeUser, prefix: str) -> None:
    """Press the button whose label starts with `prefix` (labels can carry a date)."""
    message = next(m for m in reversed(person.tg.sent(person.chat_id)) if m.buttons)
    label = next(t for t in message.button_texts if t.startswith(prefix))
    await person.press(label)


async def case_json(url: str, code: str) -> dict[str, Any]:
    """What an operator reads: `dlxh case show CODE --json`, run as a command."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "case", "show", code, "--json",
        env={**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "WARNING"},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    return json.loads(out)  # type: ignore[no-any-return]


async def test_report_assigned_answered_sent_back_answered_accepted(
    tg: FakeTelegram, clean_database_url: str, tmp_path: Path
) -> None:
    url = clean_database_url
    settings = service_settings(url, tmp_path, tg, "webhook")
    async with running(settings, tg):
        board = await joined(tg, url, 7001, "Hùng", Role.BOARD, None)
        minh = await joined(tg, url, 7002, "Minh", Role.HANDLER, "bo-de")
        await joined(tg, url, 7003, "Tâm", Role.HANDLER, "gia-thuy")
        lan = tg.user(id=7000, first_name="Lan")
        done = await file_report(lan, await invitation(url))
        code = next(w for w in done.split() if w.startswith("PA-")).rstrip(".")
        await tg.wait_for(lambda: any("Giao xử lý" in str(m.buttons) for m in tg.sent(7001)))

        await answer_to(board, board.press("📤 Giao xử lý"), "cho đơn vị nào")
        await answer_to(board, board.press("✅ Phường Bồ Đề (đề xuất)"), "Hạn trả lời")
        await answer_to(board, press_starting(board, "⏱️ Theo quy định"), "Đã giao")
        told = await answer_to(lan, lan.wait_reply(1), "chuyển Phường Bồ Đề xử lý")
        assert "hạn" in told

        await tg.wait_for(lambda: any("Tiếp nhận" in str(m.buttons) for m in tg.sent(7002)))
        await answer_to(minh, minh.press("✅ Tiếp nhận"), "Đã tiếp nhận")
        await answer_to(minh, minh.press("📨 Trả lời"), "Gõ nội dung trả lời")
        await answer_to(minh, minh.send_text("Đã lập biên bản, yêu cầu tháo dỡ"), "Gửi ảnh kết quả")
        await answer_to(minh, minh.send_photo(b"\xff\xd8after"), "Đã nhận 1/5")
        await answer_to(minh, minh.press("📨 Gửi trả lời"), "Đã gửi trả lời")

        await tg.wait_for(lambda: any("Trả lại" in str(m.buttons) for m in tg.sent(7001)))
        await answer_to(board, board.press("↩️ Trả lại (chưa rõ)"), "chưa rõ ở đâu")
        await answer_to(board, board.send_text("Cần ảnh sau khi tháo dỡ"), "Đã trả lại")

        await tg.wait_for(lambda: any("Cần ảnh sau khi tháo dỡ" in t for t in tg.texts(7002)))
        await answer_to(minh, minh.press("📨 Trả lời"), "Gõ nội dung trả lời")
        await answer_to(minh, minh.send_text("Đã tháo dỡ xong phần lấn chiếm"), "Gửi ảnh kết quả")
        await answer_to(minh, minh.press("🚫 Không có ảnh"), "Vì sao không có ảnh")
        await answer_to(minh, minh.send_text("Máy ảnh hỏng"), "Đã gửi trả lời")

        await tg.wait_for(lambda: any("Đã tháo dỡ xong" in t for t in tg.texts(7001)))
        await answer_to(board, board.press("✅ Chấp nhận trả lời"), "Đã chấp nhận")
        resolved = await answer_to(lan, lan.wait_reply(1), "thực sự được giải quyết chưa")
        assert "Đã tháo dỡ xong phần lấn chiếm" in resolved
        await answer_to(lan, lan.press("✅ Đã giải quyết"), "đã khép lại")

    assert tg.texts(7003)[1:] == []  # the other unit's handler heard nothing after joining
    for text in tg.texts(7002):
        assert "Lan" not in text  # the handler never learns who reported
    case = await case_json(url, code)
    assert case["status"] == "closed" and case["assigned_unit"] == "bo-de"
    steps = [(e["from"], e["to"]) for e in case["timeline"]]
    assert steps == [
        ("draft", "submitted"), ("submitted", "assigned"), ("assigned", "in_progress"),
        ("in_progress", "answered"), ("answered", "in_progress"), ("in_progress", "answered"),
        ("answered", "verifying"), ("verifying", "closed"),
    ]


async def test_forged_buttons_and_the_assign_race(
    tg: FakeTelegram, clean_database_url: str, tmp_path: Path
) -> None:
    url = clean_database_url
    settings = service_settings(url, tmp_path, tg, "webhook")
    async with running(settings, tg):
        hung = await joined(tg, url, 7101, "Hùng", Role.BOARD, None)
        hoa = await joined(tg, url, 7102, "Hoa", Role.BOARD, None)
        tam = await joined(tg, url, 7103, "Tâm", Role.HANDLER, "gia-thuy")
        lan = tg.user(id=7100, first_name="Lan")
        done = await file_report(lan, await invitation(url))
        code = next(w for w in done.split() if w.startswith("PA-")).rstrip(".")
        before = await case_json(url, code)

        for person, action in ((lan, "assign"), (lan, "approve"), (tam, "answer"),
                               (tam, "accept"), (hung, "accept")):
            refused = await answer_to(person, person.press_data(f"c:{action}:{code}"), "")
            assert "Gõ" not in refused.splitlines()[-1]
        assert await case_json(url, code) == before

        for officer in (hung, hoa):
            await tg.wait_for(lambda o=officer: any(  # type: ignore[misc]
                "Giao xử lý" in str(m.buttons) for m in tg.sent(o.chat_id)))
            await answer_to(officer, officer.press("📤 Giao xử lý"), "cho đơn vị nào")
            await answer_to(officer, officer.press("✅ Phường Bồ Đề (đề xuất)"), "Hạn trả lời")
        # Both officers confirm at the same moment: one wins, the other is told.
        await asyncio.gather(press_starting(hung, "1 ngày"), press_starting(hoa, "3 ngày"))
        await tg.wait_for(lambda: sum(
            "Đã giao" in t or "đã được xử lý trước đó" in t
            for t in tg.texts(7101)[-1:] + tg.texts(7102)[-1:]) == 2, timeout=10)
    outcome = tg.texts(7101)[-1:] + tg.texts(7102)[-1:]
    assert sum("Đã giao" in t for t in outcome) == 1
    assert sum("đã được xử lý trước đó" in t for t in outcome) == 1
    case = await case_json(url, code)
    assert [e["to"] for e in case["timeline"]] == ["submitted", "assigned"]


async def test_a_failed_card_text_is_retried_without_resending_its_photos(
    tg: FakeTelegram, clean_database_url: str, tmp_path: Path
) -> None:
    url = clean_database_url
    settings = service_settings(url, tmp_path, tg, "webhook")
    async with running(settings, tg):
        await joined(tg, url, 7201, "Hùng", Role.BOARD, None)
        lan = tg.user(id=7200, first_name="Lan")
        # The board's card: its photos go through, its text fails once.
        tg.fail_next("sendMessage", status=502, times=1, chat_id=7201)
        await file_report(lan, await invitation(url))
        await tg.wait_for(
            lambda: any("Giao xử lý" in str(m.buttons) for m in tg.sent(7201)), timeout=15
        )
    albums = [c for c in tg.calls("sendMediaGroup") if c.get("chat_id") == 7201]
    assert len(albums) == 1  # the report's two photos reached the board once
    cards = [m for m in tg.sent(7201) if "Giao xử lý" in str(m.buttons)]
    assert len(cards) == 1
