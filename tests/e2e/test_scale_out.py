"""Two `dlxh serve` webhook workers on one PostgreSQL database (docs/architecture.md, "Scaling
out"): a person's updates land on either, and every reply still arrives once and in order."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from storage.database import Database
from tests.db_fixtures import truncate_all
from tests.e2e.harness import WEBHOOK_SECRET, invitation, running, service_settings, stored_reports
from tests.fakes.telegram_api import FakeTelegram

# What the two workers' dispatchers passing over the outbox get to see: every send is in flight
# this long (a slow Bot API), several of the other worker's passes (every second) fall in it.
SLOW_SEND_S = 0.5
SETTLE_S = 1.5  # passes of both workers after the last reply: a second copy would show by then

STEPS = [  # (kind, what is sent, what each of the bot's answers to it says)
    ("press", "📝 Gửi phản ánh", ("lĩnh vực",)),
    ("press", "Trật tự xây dựng", ("Bồ Đề phải không",)),
    ("press", "✅ Đúng, Phường Bồ Đề", ("Bước 3/6",)),
    ("text", "Ngõ 5 phố Bồ Đề", ("Đã ghi địa chỉ", "Bước 4/6")),
    ("text", "Xây lấn vỉa hè trước số nhà 12", ("Bước 5/6",)),
    ("press", "✅ Xong", ("Bước 6/6",)),
    ("press", "Bình thường", ("Kiểm tra lại",)),
    ("press", "📨 Gửi", ("PA-",)),
]


@pytest.mark.postgres
async def test_updates_spread_over_two_workers_get_each_reply_once_in_order(
    tg: FakeTelegram, postgres_database_url: str, tmp_path: Path
) -> None:
    url = postgres_database_url
    database = Database.connect(url)
    await truncate_all(database)
    await database.dispose()
    first = service_settings(url, tmp_path, tg, "webhook")
    second = service_settings(url, tmp_path, tg, "webhook")
    tg.delay("sendMessage", SLOW_SEND_S)
    lan = tg.user(id=6101, first_name="Lan")
    code = await invitation(url)
    async with running(first, tg) as one, running(second, tg) as other:
        workers = [f"{one}/webhooks/telegram", f"{other}/webhooks/telegram"]
        expected = ["cộng tác viên"]
        tg.deliver_to(workers[0], WEBHOOK_SECRET)
        await lan.send_text(f"/start {code}")
        await lan.wait_reply(1, timeout=15)
        for number, (kind, what, answers) in enumerate(STEPS, start=1):
            tg.deliver_to(workers[number % 2], WEBHOOK_SECRET)  # the load balancer's choice
            await (lan.press(what) if kind == "press" else lan.send_text(what))
            replies = await lan.wait_reply(len(answers), timeout=15)
            assert all(a in r.plain for a, r in zip(answers, replies, strict=True))
            expected += answers
        await asyncio.sleep(SETTLE_S)

    received = [m.plain for m in tg.sent(lan.chat_id)]
    assert len(received) == len(expected), received  # no reply twice
    assert all(answer in text for answer, text in zip(expected, received, strict=True))
    [report] = await stored_reports(url)
    assert report["status"] == "submitted"
