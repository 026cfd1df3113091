"""The load of `bench.ingest`: a fake Bot API that stamps each reply's arrival, and simulated
users who act all at once, each waiting for the bot's reply before the next action."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.telegram_api import DEFAULT_TOKEN, FakeTelegram
from tests.fakes.telegram_users import FakeUser

BOT_USERNAME = "dlxh_test_bot"
STEP_TIMEOUT = 30.0  # seconds one user waits for one reply before counting it lost
CATEGORIES = ("Trật tự xây dựng", "Trật tự đô thị", "Trật tự an toàn giao thông",
              "Vệ sinh môi trường", "Giải phóng mặt bằng", "Khác")
# (kind, text, replies): "text" sends a message, "press" presses the inline button with that
# label; `replies` is how many messages the bot answers it with (the user goes on after the last).
Action = tuple[str, str, int]


# ---- the fake Bot API, with arrival times -------------------------------------------------
class TimedTelegram(FakeTelegram):
    """The fake Bot API server, stamping (perf_counter) every message the bot sends."""

    def __init__(self) -> None:
        super().__init__(DEFAULT_TOKEN, bot_username=BOT_USERNAME)
        self.stamps: dict[int, list[float]] = {}
        self._arrived: dict[int, asyncio.Event] = {}

    def _record(self, method: str, p: dict[str, Any], content: dict[str, Any], *,
                text: str | None, file_ids: list[str] | None = None,
                group: str | None = None) -> dict[str, Any]:
        result = super()._record(method, p, content, text=text, file_ids=file_ids, group=group)
        chat_id = int(result["chat"]["id"])
        self.stamps.setdefault(chat_id, []).append(time.perf_counter())
        self._event(chat_id).set()
        return result

    def _event(self, chat_id: int) -> asyncio.Event:
        return self._arrived.setdefault(chat_id, asyncio.Event())

    def count(self, chat_id: int) -> int:
        return len(self.stamps.get(chat_id, ()))

    async def wait_count(self, chat_id: int, count: int, timeout: float) -> bool:
        """Wait (woken by each arrival, no polling) until ``count`` messages reached the chat."""
        deadline = time.perf_counter() + timeout
        event = self._event(chat_id)
        while self.count(chat_id) < count:
            left = deadline - time.perf_counter()
            if left <= 0:
                return False
            event.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), left)
        return True


# ---- the simulated users ------------------------------------------------------------------
@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)  # seconds, one per answered step
    lost: int = 0  # steps whose reply never came
    stuck: list[str] = field(default_factory=list)  # users who could not go on, and why


def intake(report: int) -> list[Action]:
    """One whole report, pressing what the bot offers."""
    category = CATEGORIES[report % len(CATEGORIES)]
    return [("press", "📝 Gửi phản ánh", 1), ("press", category, 1),
            ("press", "✅ Đúng, Phường Bồ Đề", 1),
            # "📍 address noted" (it takes the location keyboard away), then the next question
            ("text", f"Ngõ {report + 1} phố Bồ Đề", 2),
            ("text", f"Vụ việc số {report + 1}: xây lấn vỉa hè", 1), ("press", "✅ Xong", 1),
            ("press", "Bình thường", 1), ("press", "📨 Gửi", 1)]


def service_script(code: str, reports: int) -> list[Action]:
    return [("text", f"/start {code}", 1)] + [a for r in range(reports) for a in intake(r)]


def echo_script(steps: int) -> list[Action]:
    return [("text", f"Tin nhắn thử số {i + 1}", 1) for i in range(steps)]


async def act(user: FakeUser, action: Action) -> None:
    kind, text, _ = action
    if kind == "press":
        await user.press(text)
    else:
        await user.send_text(text)


async def step(tg: TimedTelegram, user: FakeUser, action: Action, tally: Tally) -> bool:
    """One action and the bot's reply; the latency runs until the fake recorded the reply (the
    last of its messages, after which the user can go on)."""
    before, replies = tg.count(user.chat_id), action[2]
    started = time.perf_counter()
    await act(user, action)
    if not await tg.wait_count(user.chat_id, before + replies, STEP_TIMEOUT):
        tally.lost += 1
        tally.stuck.append(f"user {user.id}: no reply to {action}")
        return False
    tally.latencies.append(tg.stamps[user.chat_id][before + replies - 1] - started)
    return True


async def play(tg: TimedTelegram, user: FakeUser, script: list[Action], start: asyncio.Event,
               tally: Tally) -> None:
    await start.wait()
    for action in script:
        try:
            if not await step(tg, user, action, tally):
                return
        except LookupError as error:  # the button to press is not there
            tally.stuck.append(f"user {user.id}: {error}")
            return


async def drive(tg: TimedTelegram, scripts: list[list[Action]], deadline: float) -> Tally:
    """Every user plays its script at the same time; bounded by ``deadline`` seconds."""
    tally, start = Tally(), asyncio.Event()
    users = [tg.user(id=700_000 + i, first_name=f"CTV {i + 1}") for i in range(len(scripts))]
    tasks = [asyncio.create_task(play(tg, u, s, start, tally)) for u, s in zip(
        users, scripts, strict=True)]
    start.set()
    done, pending = await asyncio.wait(tasks, timeout=deadline)
    for task in pending:
        task.cancel()
        tally.stuck.append("a user was still busy at the overall deadline")
    await asyncio.gather(*tasks, return_exceptions=True)
    for task in done:
        if task.exception() is not None:
            tally.stuck.append(f"a user failed: {task.exception()!r}")
    return tally
