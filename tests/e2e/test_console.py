"""`dlxh chat`: the very same conversation in a terminal, and only the terminal."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

from bot.console import chat
from bot.settings import Settings
from domain.messages import Priority, Reply
from domain.ports import NewMessage
from storage.database import Database
from storage.migrate import upgrade_to_head
from tests.e2e.harness import invitation, stored_reports

PHOTO = b"\xff\xd8 a photo from the terminal"


async def test_a_whole_report_typed_in_the_terminal(
    clean_database_url: str, tmp_path: Path
) -> None:
    """Typed numbers and labels, /anh for a photo; with the bots' tokens set, the terminal still
    sends nothing to Telegram or Zalo (that is `dlxh serve`'s dispatcher's work)."""
    url = clean_database_url
    await upgrade_to_head(url)
    code = await invitation(url)
    database = Database.connect(url)
    try:
        async with database.unit_of_work() as uow:  # a reply the running service owes on Zalo
            await uow.outbox.add_many([NewMessage("zalo", "z-1", Reply("Chào"),
                                                  Priority.CONVERSATION)],
                                      datetime.now(UTC))
            await uow.commit()
    finally:
        await database.dispose()
    photo = tmp_path / "hien-truong.jpg"
    photo.write_bytes(PHOTO)
    typed = [f"/start {code}", "1", "khac", "1", "Chợ Long Biên", "Lấn chiếm lòng đường",
             f"/anh {photo}", "xong", "binh thuong", "gui", "/thoat"]
    settings = Settings(
        _env_file=None, database_url=url, media_dir=tmp_path / "media",
        telegram_bot_token="123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",
        telegram_api_base="http://127.0.0.1:9", zalo_bot_token="zalo-token-abcdefghijklmnop",
        zalo_api_base="http://127.0.0.1:9",
    )
    out = io.StringIO()
    await chat(settings, "Lan", io.StringIO("\n".join(typed) + "\n"), out)
    shown = out.getvalue()
    assert "cộng tác viên" in shown and "(Gõ số từ 1 đến" in shown
    assert "Đã gửi phản ánh PA-" in shown
    [report] = await stored_reports(url)
    assert report["category"] == "khac" and report["photos"] == 1
    assert report["address"] == "Chợ Long Biên"
    stored = [p.read_bytes() for p in (tmp_path / "media").rglob("*") if p.is_file()]
    assert stored == [PHOTO]
    database = Database.connect(url)
    try:
        async with database.unit_of_work() as uow:
            [owed] = [item for item in await uow.outbox.all() if item.channel == "zalo"]
    finally:
        await database.dispose()
    assert owed.attempts == 0 and owed.status.value == "pending"  # left to `dlxh serve`
