"""The Telegram sender against the fake Bot API: files, and what it does without them."""

from __future__ import annotations

from pathlib import Path

from bot.telegram.sender import TelegramSender
from domain.messages import Reply
from domain.reports import MediaKind
from storage.media import FileMediaStore
from tests.fakes.telegram_api import FakeTelegram


async def test_documents_go_as_files_and_a_missing_one_is_left_out(tmp_path: Path) -> None:
    media = FileMediaStore(tmp_path, 1 << 20)
    book = media.put(b"PK\x03\x04workbook", MediaKind.DOCUMENT, "application/zip")
    async with FakeTelegram() as tg:
        bot = tg.make_bot()
        try:
            sender = TelegramSender(bot, media, "📍")
            report = Reply("Báo cáo tháng", documents=((book.sha256, "bao-cao.xlsx"),))
            await sender.send("7", report)
            await sender.send("7", Reply("Không còn tệp", documents=(("0" * 64, "mat.xlsx"),)))
        finally:
            await bot.session.close()
    assert len(tg.calls("sendDocument")) == 1
    assert tg.texts(7) == ["Báo cáo tháng", "Không còn tệp"]
