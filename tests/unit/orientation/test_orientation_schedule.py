"""Scheduling an orientation, `/lich`, and cancelling (button and command, forged or twice)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.broadcasts import BroadcastStatus
from domain.clock import FixedClock
from domain.people import Role
from handlers.broadcasting import launch_due
from tests.conversation_harness import MONDAY_9AM, Person, join, services
from tests.fakes.memory_uow import MemoryStore
from tests.unit.orientation.world import broadcasts, compose, copies, labels


async def to_schedule(hung: Person) -> None:
    await compose(hung, "Họp tổ dân phố về vệ sinh môi trường")
    await hung.press("Tất cả cộng tác viên")
    asked = await hung.press("Hẹn giờ")
    assert "Gửi lúc nào?" in asked[-1].text


async def test_schedule_for_a_typed_moment_then_the_sweep_sends_it(
    store: MemoryStore, clock: FixedClock, people: dict[str, Person]
) -> None:
    hung = people["hung"]
    await to_schedule(hung)
    confirm = await hung.say("01/12 08:00")
    assert "Hẹn gửi lúc 08:00 01/12/2026" in confirm[-1].text
    assert "Tất cả cộng tác viên" in confirm[-1].text and "2 người nhận" in confirm[-1].text
    done = await hung.press("Xác nhận hẹn giờ")
    assert "Đã hẹn giờ định hướng DH-2026-000001, sẽ gửi lúc 08:00 01/12/2026" in done[-1].text
    [broadcast] = broadcasts(store)
    assert broadcast.status is BroadcastStatus.SCHEDULED
    # 08:00 in Hà Nội is 01:00 UTC.
    assert broadcast.send_at == datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
    assert copies(store, broadcast) == []  # no copy before its time
    assert store.state.drafts == {}

    async with store() as uow:
        assert await launch_due(uow, services(clock), MONDAY_9AM + timedelta(hours=1), 10) == []
        launched = await launch_due(uow, services(clock), broadcast.send_at, 10)
        await uow.commit()
    assert launched == ["DH-2026-000001"]
    assert {i.chat_id for i in copies(store, broadcast)} == {"u-Lan", "u-Mai"}


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("28/12/2026 8:00", datetime(2026, 12, 28, 1, 0, tzinfo=UTC)),
        ("1/12 7h30", datetime(2026, 12, 1, 0, 30, tzinfo=UTC)),
        ("08:15 02/12", datetime(2026, 12, 2, 1, 15, tzinfo=UTC)),
        ("30/11 17:00", datetime(2026, 11, 30, 10, 0, tzinfo=UTC)),  # later today
        ("05/01 08:00", datetime(2027, 1, 5, 1, 0, tzinfo=UTC)),  # a day gone: next year
    ],
)
async def test_moments_people_type(
    store: MemoryStore, people: dict[str, Person], typed: str, expected: datetime
) -> None:
    hung = people["hung"]
    await to_schedule(hung)
    await hung.say(typed)
    await hung.press("Xác nhận hẹn giờ")
    [broadcast] = broadcasts(store)
    assert broadcast.send_at == expected


@pytest.mark.parametrize(
    ("typed", "said"),
    [
        ("mai 8 giờ", "Bot chưa hiểu «mai 8 giờ»"),
        # A date without a time is not read as another date at some hour ("28/12" as 28/1 at
        # 2 o'clock, "28/11/2026" as the year 202 at 6 o'clock), nor a time without a date.
        ("28/12", "Bot chưa hiểu «28/12»"),
        ("10.12", "Bot chưa hiểu"),
        ("9.30", "Bot chưa hiểu"),
        ("28/12/2026", "Bot chưa hiểu"),
        ("31/11 08:00", "Bot chưa hiểu"),
        ("01/12 25:00", "Bot chưa hiểu"),
        ("30/11/2026 08:00", "Lúc 08:00 30/11/2026 đã qua"),
        ("30/11 09:00", "đã qua"),  # now, exactly
        ("01/06/2026 08:00", "đã qua"),
    ],
)
async def test_a_bad_or_past_moment_is_refused_and_nothing_stored(
    store: MemoryStore, people: dict[str, Person], typed: str, said: str
) -> None:
    hung = people["hung"]
    await to_schedule(hung)
    refused = await hung.say(typed)
    assert said in refused[-1].text
    assert "Gửi lúc nào?" in refused[-1].text  # asked again
    assert broadcasts(store) == []


async def test_a_moment_that_passes_before_the_confirmation_is_refused(
    store: MemoryStore, clock: FixedClock, people: dict[str, Person]
) -> None:
    hung = people["hung"]
    await to_schedule(hung)
    await hung.say("30/11 09:30")
    clock.set(MONDAY_9AM + timedelta(minutes=31))
    refused = await hung.press("Xác nhận hẹn giờ")
    assert "đã qua" in refused[-1].text
    assert broadcasts(store) == []


async def schedule_one(hung: Person, moment: str = "01/12 08:00") -> None:
    await to_schedule(hung)
    await hung.say(moment)
    await hung.press("Xác nhận hẹn giờ")


async def test_lich_lists_and_the_button_cancels_once(
    store: MemoryStore, clock: FixedClock, people: dict[str, Person]
) -> None:
    tg = await join(store, clock, "Thảo", Role.BOARD, None, "telegram")
    await schedule_one(people["hung"])
    listed = await tg.say("/lich")
    text = "\n".join(r.text for r in listed)
    assert "Định hướng đang hẹn giờ (1)" in text
    assert "DH-2026-000001 · gửi lúc 08:00 01/12/2026" in text
    assert "Tất cả cộng tác viên" in text and "Họp tổ dân phố về vệ sinh môi trường" in text
    assert labels(listed)[:1] == ["❌ Hủy DH-2026-000001"]
    cancelled = await tg.press("Hủy DH-2026-000001")
    assert "Đã hủy định hướng DH-2026-000001" in cancelled[-1].text
    assert broadcasts(store)[0].status is BroadcastStatus.CANCELLED
    again = await tg.press_payload("b:cancel:1")
    assert "đã được hủy trước đó" in again[-1].text
    async with store() as uow:  # a cancelled one is never launched
        assert await launch_due(uow, services(clock), datetime(2027, 1, 1, tzinfo=UTC), 10) == []
    empty = await tg.say("/lich")
    assert "Không có định hướng nào đang hẹn giờ" in empty[-1].text


async def test_on_channels_without_buttons_lich_names_the_command(
    store: MemoryStore, clock: FixedClock, people: dict[str, Person]
) -> None:
    hung = people["hung"]
    await schedule_one(hung)
    listed = await hung.say("/lich")
    assert "/huylich DH-2026-000001" in listed[-1].text and not listed[-1].choices
    assert "Hãy gõ kèm mã" in (await hung.say("/huylich"))[-1].text
    assert "Không tìm thấy" in (await hung.say("/huylich DH-2026-000042"))[-1].text
    done = await hung.say("/huylich dh-2026-000001")
    assert "Đã hủy định hướng DH-2026-000001" in done[-1].text
    assert broadcasts(store)[0].status is BroadcastStatus.CANCELLED


async def test_a_sent_one_can_no_longer_be_cancelled(
    store: MemoryStore, clock: FixedClock, people: dict[str, Person]
) -> None:
    hung = people["hung"]
    await schedule_one(hung)
    [broadcast] = broadcasts(store)
    async with store() as uow:
        await launch_due(uow, services(clock), broadcast.send_at, 10)
        await uow.commit()
    refused = await hung.press_payload(f"b:cancel:{broadcast.id}")
    assert "đã gửi đi rồi" in refused[-1].text
    assert broadcasts(store)[0].status is BroadcastStatus.SENDING


@pytest.mark.parametrize("who", ["lan", "mai", "minh", "an"])
async def test_a_forged_cancel_button_changes_nothing(
    store: MemoryStore, people: dict[str, Person], who: str
) -> None:
    await schedule_one(people["hung"])
    for payload in ("b:cancel:1", "b:cancel:x", "b:orient:PA-2026-000001"):
        refused = await people[who].press_payload(payload)
        assert "Chỉ cán bộ Ban Tuyên giáo" in refused[-1].text
    assert broadcasts(store)[0].status is BroadcastStatus.SCHEDULED
    assert list(store.state.drafts) == []


async def test_an_unreadable_cancel_payload_is_not_found(
    store: MemoryStore, people: dict[str, Person]
) -> None:
    hung = people["hung"]
    for payload in ("b:cancel:x", "b:cancel:99", "b:what:1"):
        replies = await hung.press_payload(payload)
        assert "Không tìm thấy" in replies[-1].text or "không hợp lệ" in replies[-1].text
